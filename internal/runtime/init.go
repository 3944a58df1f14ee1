package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// initProc is the state of the container's init while it prepares.
type initProc struct {
	cfg    initConfig
	spec   *specs.Spec
	status *os.File
	steps  []*trace.Span
	// argv0 is the resolved path of the user's command inside the container.
	argv0 string
	// ptyName is the container path of the terminal's slave.
	ptyName string
	// config is the config pipe: the configuration, then "cgroup" once the
	// parent has placed us in our cgroup, then (with hooks) the parent's
	// reply after the prestart and createRuntime hooks.
	config     *os.File
	cfgPipe    *json.Decoder
	cgroupDone bool
	creds      *credentials
}

// InitMain is the container's init. It never returns: it execve's the
// user's process or exits with the failure's code.
func InitMain() {
	// Credentials, capabilities, namespaces joined later and seccomp are
	// per thread: everything happens on this one, which finally execve's.
	goruntime.LockOSThread()
	status := os.NewFile(fdStatus, "status")
	p := &initProc{status: status}
	// run returns only on failure: on success it has execve'd.
	err := p.run()
	code := 1
	var ie *InitError
	if errors.As(err, &ie) {
		code = ie.Code
	}
	msg := err.Error()
	// The parent may be gone (runc-style create); stderr still tells.
	if sendStatus(status, statusMsg{Type: "error", Message: msg, Code: code}) != nil {
		fmt.Fprintf(os.Stderr, "cocin: %s\n", msg)
	}
	os.Exit(code)
}

func (p *initProc) step(name string, fn func() error) error {
	if !p.cfg.Trace {
		return fn()
	}
	s := &trace.Span{Name: name, Start: time.Now()}
	err := fn()
	s.End()
	p.steps = append(p.steps, s)
	return err
}

func (p *initProc) run() error {
	if err := p.readConfig(); err != nil {
		return err
	}
	if err := p.prepareRootfs(); err != nil {
		return err
	}
	if err := p.inCgroup(); err != nil {
		return err
	}
	if err := p.step("hostname, sysctls, rlimits", p.setupProcessEnv); err != nil {
		return err
	}
	if err := p.loopbackUp(); err != nil {
		return err
	}
	if err := ownNullStdio(); err != nil {
		return err
	}
	if err := p.step("look up command", p.lookupCommand); err != nil {
		return err
	}
	user, err := p.newCredentials()
	if err != nil {
		return err
	}
	p.creds = user
	if err := sendStatus(p.status, statusMsg{Type: "ready", Steps: p.steps}); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	if err := waitForStart(); err != nil {
		return err
	}
	st := p.cfg.State
	st.Status = specs.StateRunning
	if err := runHooks(p.spec, HookStartContainer, &st); err != nil {
		return err
	}
	if err := user.apply(); err != nil {
		return err
	}
	return p.exec()
}

// readConfig decodes the configuration; the pipe stays open until the
// parent has placed us in our cgroup (see inCgroup).
func (p *initProc) readConfig() error {
	p.config = os.NewFile(fdConfig, "config")
	p.cfgPipe = json.NewDecoder(p.config)
	if err := p.cfgPipe.Decode(&p.cfg); err != nil {
		p.config.Close()
		return fmt.Errorf("read config: %w", err)
	}
	p.spec = p.cfg.Spec
	if p.spec.Linux == nil {
		p.spec.Linux = &specs.Linux{}
	}
	return nil
}

// inCgroup waits until the parent has moved us into our cgroup (it sends
// "cgroup" on the config pipe), then unshares the cgroup namespace, whose root is the
// cgroup we are in at that moment. It runs before the first cgroup mount
// and in any case before "ready".
func (p *initProc) inCgroup() error {
	if p.cgroupDone {
		return nil
	}
	p.cgroupDone = true
	return p.step("wait for cgroup, unshare cgroup namespace", func() error {
		var m statusMsg
		err := p.cfgPipe.Decode(&m)
		if !p.cfg.HookSync {
			p.config.Close()
		}
		if err != nil || m.Type != "cgroup" {
			return fmt.Errorf("wait for cgroup: %v %q", err, m.Type)
		}
		if p.cfg.CgroupNS {
			if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
				return fmt.Errorf("unshare cgroup namespace: %w", err)
			}
		}
		return nil
	})
}

func (p *initProc) setupProcessEnv() error {
	if p.spec.Hostname != "" {
		if err := unix.Sethostname([]byte(p.spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if p.spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(p.spec.Domainname)); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	for _, rl := range p.spec.Process.Rlimits {
		res, ok := rlimitByName(rl.Type)
		if !ok {
			return fmt.Errorf("unknown rlimit %q", rl.Type)
		}
		// syscall.Setrlimit, not a raw prlimit: Go raises its own soft
		// RLIMIT_NOFILE at start and puts the original back at execve
		// unless it sees the limit being set.
		lim := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := syscall.Setrlimit(res, &lim); err != nil {
			return fmt.Errorf("set rlimit %s to %d:%d: %w", rl.Type, rl.Soft, rl.Hard, err)
		}
	}
	if err := setPersonality(p.spec.Linux.Personality); err != nil {
		return err
	}
	if p.spec.Process.OOMScoreAdj != nil {
		v := strconv.Itoa(*p.spec.Process.OOMScoreAdj)
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(v), 0); err != nil {
			return fmt.Errorf("set oom_score_adj %s: %w", v, err)
		}
	}
	return nil
}

// lookupCommand resolves argv[0] in the container's PATH now, so that a
// missing or non-executable command fails create with 127 or 126 as Docker
// reports it, before anything has started.
func (p *initProc) lookupCommand() error {
	args := p.spec.Process.Args
	if len(args) == 0 || args[0] == "" {
		return &InitError{Message: "no command specified", Code: 127}
	}
	path, err := lookPath(args[0], envValue(p.spec.Process.Env, "PATH"), p.spec.Process.Cwd)
	if err != nil {
		return err
	}
	p.argv0 = path
	return nil
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func lookPath(file, path, cwd string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", &InitError{Message: fmt.Sprintf("exec: %q: %v", file, err), Code: codeFor(err)}
		}
		return p, nil
	}
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", &InitError{Message: fmt.Sprintf("exec: %q: %v", file, denied), Code: 126}
	}
	return "", &InitError{Message: fmt.Sprintf("exec: %q: executable file not found in $PATH", file), Code: 127}
}

func codeFor(err error) int {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return 127
	}
	return 126
}

func checkExecutable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	if st.Mode&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}

// waitForStart blocks in open(2) of the exec FIFO until `start` opens its
// reading end, then writes the byte `start` waits for. The writing end stays
// open, close-on-exec: `start` sees it hang up when execve has replaced the
// init (or the init died), and only then runs the poststart hooks.
func waitForStart() error {
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fdFifo), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(fdFifo)
	if _, err := unix.Write(fd, []byte{0}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("write exec fifo: %w", err)
	}
	return nil
}

// exec replaces the init with the user's process. No descriptor but 0-2 and
// the preserved ones survives: everything above is marked close-on-exec.
func (p *initProc) exec() error {
	cwd := p.spec.Process.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return &InitError{Message: fmt.Sprintf("chdir to cwd (%q) set in config.json failed: %v", cwd, err), Code: 126}
	}
	// CVE-2024-21626: never run with a working directory outside the root.
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return &InitError{Message: "working directory is outside the container", Code: 126}
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close-on-exec descriptors: %w", err)
	}
	// --preserve-fds: the extra descriptors arrive after the console socket
	// and are handed to the process as 3, 4, ... as runc does.
	for i := 0; i < p.cfg.PreserveFDs; i++ {
		if err := unix.Dup3(fdConsole+1+i, 3+i, 0); err != nil {
			return fmt.Errorf("preserve fd %d: %w", 3+i, err)
		}
	}
	resetIgnoredSignals()
	// Last before execve, so none of the set-up above is filtered; only
	// the capset that gives up the kept CAP_SYS_ADMIN runs under it.
	if err := InstallSeccomp(p.cfg.Seccomp); err != nil {
		return err
	}
	if err := p.creds.dropKept(); err != nil {
		return err
	}
	err := unix.Exec(p.argv0, p.spec.Process.Args, p.spec.Process.Env)
	return &InitError{Message: fmt.Sprintf("exec %s: %v", p.spec.Process.Args[0], err), Code: codeFor(err)}
}
