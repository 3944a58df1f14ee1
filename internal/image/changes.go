package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ErrBadChange reports a --change instruction that cannot be applied.
var ErrBadChange = errors.New("invalid change")

// ApplyChanges applies Dockerfile instructions (the --change of import
// and commit) to an image config: CMD, ENTRYPOINT, ENV, WORKDIR, USER,
// EXPOSE, LABEL, VOLUME and STOPSIGNAL. It stops at the first bad one.
func ApplyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	for _, ch := range changes {
		if err := applyChange(cfg, ch); err != nil {
			return fmt.Errorf("%w %q: %v", ErrBadChange, ch, err)
		}
	}
	return nil
}

func applyChange(cfg *ocispec.ImageConfig, change string) error {
	change = strings.TrimSpace(change)
	instr, arg := change, ""
	if i := strings.IndexAny(change, " \t"); i >= 0 {
		instr, arg = change[:i], change[i+1:]
	}
	arg = strings.TrimSpace(arg)
	if instr == "" {
		return errors.New("empty instruction")
	}
	if arg == "" {
		return fmt.Errorf("%s needs an argument", strings.ToUpper(instr))
	}
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd = commandForm(arg)
	case "ENTRYPOINT":
		cfg.Entrypoint = commandForm(arg)
	case "ENV":
		return applyPairs(arg, true, func(k, v string) { cfg.Env = setEnv(cfg.Env, k, v) })
	case "LABEL":
		return applyPairs(arg, false, func(k, v string) {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[k] = v
		})
	case "WORKDIR":
		base := cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		// Relative paths build on the previous WORKDIR, as in a Dockerfile.
		cfg.WorkingDir = path.Join(base, arg)
		if path.IsAbs(arg) {
			cfg.WorkingDir = path.Clean(arg)
		}
	case "USER":
		if strings.ContainsAny(arg, " \t") {
			return errors.New("USER takes one user[:group]")
		}
		cfg.User = arg
	case "EXPOSE":
		return applyExpose(cfg, arg)
	case "VOLUME":
		return applyVolume(cfg, arg)
	case "STOPSIGNAL":
		if !validSignal(arg) {
			return fmt.Errorf("unknown signal %q", arg)
		}
		cfg.StopSignal = arg
	default:
		return fmt.Errorf("unknown or unsupported instruction %q", instr)
	}
	return nil
}

// commandForm reads CMD/ENTRYPOINT: a JSON array (exec form), or else a
// command line for /bin/sh -c (shell form), as Docker does.
func commandForm(arg string) []string {
	if strings.HasPrefix(arg, "[") {
		var argv []string
		if json.Unmarshal([]byte(arg), &argv) == nil {
			return argv
		}
	}
	return []string{"/bin/sh", "-c", arg}
}

// applyPairs reads "k=v k2=v2" with shell-like quoting, or, when legacy
// is allowed (ENV), the old "k v..." form.
func applyPairs(arg string, legacy bool, set func(k, v string)) error {
	words, err := splitWords(arg)
	if err != nil {
		return err
	}
	if legacy && !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(arg, " ")
		set(k, strings.TrimSpace(v))
		return nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", w)
		}
		set(k, v)
	}
	return nil
}

// splitWords splits on blanks outside quotes, removing the quotes and
// backslash escapes.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, ch := range s {
		switch {
		case escaped:
			cur.WriteRune(ch)
			escaped = false
		case ch == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteRune(ch)
			}
		case ch == '"' || ch == '\'':
			quote, inWord = ch, true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(ch)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, errors.New("unterminated quote or escape")
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("no arguments")
	}
	return words, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// applyExpose reads "80 443/tcp 53/udp 8000-8002".
func applyExpose(cfg *ocispec.ImageConfig, arg string) error {
	for _, spec := range strings.Fields(arg) {
		ports, proto, _ := strings.Cut(spec, "/")
		if proto == "" {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("protocol %q is not tcp, udp or sctp", proto)
		}
		lo, hi, isRange := strings.Cut(ports, "-")
		if !isRange {
			hi = lo
		}
		first, err1 := parsePort(lo)
		last, err2 := parsePort(hi)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if last < first {
			return fmt.Errorf("port range %q is backwards", ports)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for p := first; p <= last; p++ {
			cfg.ExposedPorts[strconv.Itoa(p)+"/"+proto] = struct{}{}
		}
	}
	return nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// applyVolume reads a JSON array or blank-separated absolute paths.
func applyVolume(cfg *ocispec.ImageConfig, arg string) error {
	var paths []string
	if !strings.HasPrefix(arg, "[") || json.Unmarshal([]byte(arg), &paths) != nil {
		var err error
		if paths, err = splitWords(arg); err != nil {
			return err
		}
	}
	for _, p := range paths {
		if !path.IsAbs(p) {
			return fmt.Errorf("volume %q is not an absolute path", p)
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[path.Clean(p)] = struct{}{}
	}
	return nil
}

// validSignal accepts what `docker run --stop-signal` does: a name with
// or without SIG, SIGRTMIN+n / SIGRTMAX-n, or a number.
func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 64
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for _, rt := range []string{"SIGRTMIN", "SIGRTMAX"} {
		if rest, ok := strings.CutPrefix(name, rt); ok {
			if rest == "" {
				return true
			}
			n, err := strconv.Atoi(rest)
			return err == nil && n >= -30 && n <= 30 && (n > 0) == (rt == "SIGRTMIN")
		}
	}
	return unix.SignalNum(name) != 0
}
