package engine

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// mountReq is one mount the user (or the image's VOLUME) asked for,
// parsed but not yet realised.
type mountReq struct {
	Type        string // bind, volume, tmpfs
	Source      string // host path (bind), volume name ("" anonymous)
	Target      string
	ReadOnly    bool
	Propagation string // bind only; "" is rprivate
	NoCopy      bool   // volume: do not copy the image's content in
	Options     []string
	// CreateHost is -v's behaviour for a missing host path: create it.
	// --mount refuses instead.
	CreateHost bool
	Mode       string // -v's option string, shown by inspect
}

var bindPropagations = map[string]bool{
	"shared": true, "slave": true, "private": true, "rshared": true, "rslave": true, "rprivate": true,
}

// parseVolumeFlag parses -v: CTR (anonymous volume), NAME:CTR[:OPTS] or
// /HOST:CTR[:OPTS]; OPTS are ro, rw, nocopy, z, Z and a bind propagation.
func parseVolumeFlag(s string) (mountReq, error) {
	bad := func(why string) (mountReq, error) {
		return mountReq{}, fmt.Errorf("invalid volume specification %q: %s", s, why)
	}
	parts := strings.Split(s, ":")
	var r mountReq
	switch len(parts) {
	case 1:
		r = mountReq{Type: "volume", Target: parts[0]}
	case 2, 3:
		r = mountReq{Type: "volume", Source: parts[0], Target: parts[1], CreateHost: true}
		if len(parts) == 3 {
			r.Mode = parts[2]
		}
	default:
		return bad("too many colons")
	}
	if r.Source == "" && len(parts) > 1 {
		return bad("empty source")
	}
	if strings.HasPrefix(r.Source, "/") {
		r.Type = "bind"
	}
	if err := applyVolumeMode(&r, r.Mode); err != nil {
		return bad(err.Error())
	}
	return r, checkTarget(r.Target)
}

func applyVolumeMode(r *mountReq, mode string) error {
	if mode == "" {
		return nil
	}
	// Each kind of option at most once, as Docker checks ("ro,rw" is no mode).
	seen := map[string]bool{}
	for _, o := range strings.Split(mode, ",") {
		var kind string
		switch {
		case o == "ro" || o == "rw":
			kind, r.ReadOnly = "rw", o == "ro"
		case o == "z" || o == "Z": // SELinux relabelling: nothing to do without SELinux
			kind = "label"
		case o == "nocopy" && r.Type == "volume":
			kind, r.NoCopy = "copy", true
		case bindPropagations[o] && r.Type == "bind":
			kind, r.Propagation = "propagation", o
		default:
			return fmt.Errorf("unknown option %q", o)
		}
		if seen[kind] {
			return fmt.Errorf("invalid mode %q", mode)
		}
		seen[kind] = true
	}
	return nil
}

// checkTarget wants an absolute container path other than /.
func checkTarget(t string) error {
	if t == "" {
		return fmt.Errorf("invalid mount config: a target (container path) is required")
	}
	if !filepath.IsAbs(t) {
		return fmt.Errorf("invalid mount config: mount path %q must be absolute", t)
	}
	if filepath.Clean(t) == "/" {
		return fmt.Errorf("invalid mount config: destination can't be '/'")
	}
	return nil
}

// parseMountFlag parses --mount's comma-separated key=value list.
func parseMountFlag(s string) (mountReq, error) {
	r := mountReq{Type: "volume"}
	for _, field := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		if err := r.setMountKey(strings.ToLower(strings.TrimSpace(k)), v, hasValue); err != nil {
			return mountReq{}, fmt.Errorf("invalid --mount %q: %w", s, err)
		}
	}
	if err := r.checkMountType(); err != nil {
		return mountReq{}, fmt.Errorf("invalid --mount %q: %w", s, err)
	}
	return r, checkTarget(r.Target)
}

func (r *mountReq) setMountKey(k, v string, hasValue bool) error {
	var err error
	switch k {
	case "type":
		r.Type = v
	case "source", "src":
		r.Source = v
	case "target", "dst", "destination":
		r.Target = v
	case "readonly", "ro":
		r.ReadOnly, err = boolValue(v, hasValue)
	case "volume-nocopy":
		r.NoCopy, err = boolValue(v, hasValue)
	case "bind-propagation":
		if !bindPropagations[v] {
			return fmt.Errorf("invalid bind-propagation %q", v)
		}
		r.Propagation = v
	case "tmpfs-size":
		r.Options = append(r.Options, "size="+v)
		err = checkTmpfsOption("size=" + v)
	case "tmpfs-mode":
		if _, perr := strconv.ParseUint(v, 8, 32); perr != nil {
			return fmt.Errorf("invalid tmpfs-mode %q: want an octal mode", v)
		}
		r.Options = append(r.Options, "mode="+v)
	case "consistency", "bind-nonrecursive":
		// consistency is for Docker Desktop; nothing to do here.
	default:
		return fmt.Errorf("unexpected key %q", k)
	}
	return err
}

func boolValue(v string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid boolean %q", v)
	}
	return b, nil
}

func (r *mountReq) checkMountType() error {
	switch r.Type {
	case "bind":
		if r.Source == "" {
			return fmt.Errorf("a bind mount needs a source")
		}
		if !filepath.IsAbs(r.Source) {
			return fmt.Errorf("bind source %q must be an absolute path", r.Source)
		}
	case "volume":
		if r.Propagation != "" {
			return fmt.Errorf("bind-propagation does not apply to a volume")
		}
	case "tmpfs":
		if r.Source != "" {
			return fmt.Errorf("a tmpfs mount takes no source")
		}
	default:
		return fmt.Errorf("unknown mount type %q (bind, volume, tmpfs)", r.Type)
	}
	if r.Type != "tmpfs" && len(r.Options) > 0 {
		return fmt.Errorf("tmpfs options only apply to type=tmpfs")
	}
	return nil
}

// parseTmpfsFlag parses --tmpfs CTR[:OPTS], OPTS as mount(8) takes them.
func parseTmpfsFlag(s string) (mountReq, error) {
	target, opts, _ := strings.Cut(s, ":")
	r := mountReq{Type: "tmpfs", Target: target}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if err := checkTmpfsOption(o); err != nil {
				return mountReq{}, fmt.Errorf("invalid --tmpfs %q: %w", s, err)
			}
			r.Options = append(r.Options, o)
		}
	}
	return r, checkTarget(target)
}

var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true,
	"dev": true, "nodev": true, "sync": true, "async": true, "dirsync": true,
	"atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true,
	"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true,
}

// checkTmpfsOption refuses what tmpfs would not take, so the mistake is
// reported before anything is created rather than by the container's init.
func checkTmpfsOption(o string) error {
	if tmpfsFlags[o] {
		return nil
	}
	k, v, ok := strings.Cut(o, "=")
	if !ok || v == "" {
		return fmt.Errorf("unknown tmpfs option %q", o)
	}
	switch k {
	case "size", "nr_blocks", "nr_inodes":
		if len(v) > 0 && v[len(v)-1] == '%' {
			v = v[:len(v)-1]
		}
		v = strings.TrimRight(v, "kKmMgGtTpPeE")
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return fmt.Errorf("invalid tmpfs %s %q", k, o)
		}
	case "mode":
		if _, err := strconv.ParseUint(v, 8, 32); err != nil {
			return fmt.Errorf("invalid tmpfs mode %q: want octal", v)
		}
	case "uid", "gid":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return fmt.Errorf("invalid tmpfs %s %q", k, v)
		}
	default:
		return fmt.Errorf("unknown tmpfs option %q", o)
	}
	return nil
}
