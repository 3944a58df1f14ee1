package engine

import (
	"context"
	"fmt"
	"os/signal"
	"slices"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecOptions are `exec`'s flags.
type ExecOptions struct {
	Cmd         []string
	Interactive bool
	Tty         bool
	Detach      bool
	Env         []string
	EnvFiles    []string
	Workdir     string
	User        string
	Privileged  bool
}

// Exec runs a command in a running container and returns its exit code
// (0 once started with Detach). A container that is unknown, stopped or
// paused gives 1, as Docker's client exits for its daemon's refusal;
// other failures to start are engine errors (125) or, when the command
// cannot be run or found, 126/127.
func (e *Engine) Exec(ctx context.Context, ref string, o *ExecOptions, st Streams) (int, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return 1, err
	}
	if err := checkExecState(ref, c); err != nil {
		return 1, err
	}
	spec, err := e.Runtime.Spec(c.ID)
	if err != nil {
		return 1, fmt.Errorf("container %s is not running", ref)
	}
	proc, err := execProcessSpec(spec.Process, c.Rootfs, o)
	if err != nil {
		return 125, err
	}
	if o.Detach {
		p, err := e.Runtime.Exec(ctx, c.ID, runtime.ExecOpts{Process: proc, Detach: true})
		if err != nil {
			return ExitCode(err), err
		}
		p.Close()
		return 0, nil
	}
	return e.execForeground(ctx, c.ID, proc, o, st)
}

func checkExecState(ref string, c *state.Container) error {
	switch c.State.Status {
	case state.Running:
		return nil
	case state.Paused:
		return fmt.Errorf("container %s is paused, unpause the container before exec", ref)
	}
	return fmt.Errorf("container %s is not running", ref)
}

// execForeground starts the process as our child and relays its terminal,
// stdin and signals until it exits.
func (e *Engine) execForeground(ctx context.Context, id string, proc *specs.Process, o *ExecOptions, st Streams) (int, error) {
	tty, err := newTTYSession(&RunOptions{Options: specgen.Options{Tty: o.Tty}}, st)
	if err != nil {
		return 125, err
	}
	defer tty.close()
	eo := runtime.ExecOpts{Process: proc, ConsoleSocket: tty.socket()}
	var relay *stdioRelay
	if !o.Tty {
		if relay, err = newStdioRelay(st, o.Interactive); err != nil {
			return 125, err
		}
		eo.Stdin, eo.Stdout, eo.Stderr = relay.In, relay.Out, relay.Err
	}
	p, err := e.Runtime.Exec(ctx, id, eo)
	if err != nil {
		if relay != nil {
			relay.close()
		}
		return ExitCode(err), err
	}
	if relay != nil {
		relay.start(nil)
	}
	if err := tty.receive(); err != nil {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		return 125, err
	}
	sigs := forwardSignals(p, o.Tty)
	defer signal.Stop(sigs)
	tty.pump(o.Interactive)
	_, end := trace.Step(ctx, "wait for the command")
	code, err := p.Wait()
	tty.drain()
	if relay != nil {
		relay.wait()
	}
	end()
	if err != nil {
		return 125, err
	}
	return code, nil
}

// execProcessSpec is the container's process with exec's command and
// overrides: env (container's, then --env-file, then -e), working
// directory, user and, with --privileged, every capability.
func execProcessSpec(base *specs.Process, rootfs string, o *ExecOptions) (*specs.Process, error) {
	if len(o.Cmd) == 0 {
		return nil, fmt.Errorf("no command specified")
	}
	p := *base
	p.Args = o.Cmd
	p.Terminal = o.Tty
	p.ConsoleSize = nil
	env, err := execEnv(base.Env, o)
	if err != nil {
		return nil, err
	}
	p.Env = env
	envBefore := slices.Clone(env)
	if o.Workdir != "" {
		if !strings.HasPrefix(o.Workdir, "/") {
			return nil, fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", o.Workdir)
		}
		p.Cwd = o.Workdir
	}
	if o.User != "" {
		u, err := specgen.ResolveUser(rootfs, o.User)
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.Groups, Umask: base.User.Umask}
		p.Env = execHome(envBefore, base, rootfs, u.Home)
	}
	p.Capabilities = execCapabilities(base.Capabilities, p.User.UID, o.Privileged)
	return &p, nil
}

// execHome gives exec -u USER that user's HOME, as run -u does, when the
// container's HOME is the one cocin derived from its own user (not one the
// image or -e set) and exec's -e/--env-file left HOME alone.
func execHome(env []string, base *specs.Process, rootfs, home string) []string {
	runUser, err := specgen.ResolveUser(rootfs, strconv.FormatUint(uint64(base.User.UID), 10))
	if err != nil {
		return env
	}
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			if v == runUser.Home && slices.Contains(base.Env, kv) {
				env[i] = "HOME=" + home
			}
			return env
		}
	}
	return env
}

// execEnv overrides the container's environment, keeping its order.
func execEnv(base []string, o *ExecOptions) ([]string, error) {
	env := append([]string{}, base...)
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		for i, old := range env {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				env[i] = kv
				return
			}
		}
		env = append(env, kv)
	}
	if o.Tty && !hasEnv(env, "TERM") {
		set("TERM=xterm")
	}
	for _, f := range o.EnvFiles {
		vars, err := specgen.ReadEnvFile(f)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			set(v)
		}
	}
	for _, kv := range o.Env {
		v, ok, err := specgen.ParseEnv(kv)
		if err != nil {
			return nil, err
		}
		if ok {
			set(v)
		}
	}
	return env, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// ownCapabilities lists the capabilities this process holds: --privileged
// gives the command all of them (a host may withhold some, such as
// CAP_SYS_RESOURCE, even from root).
func ownCapabilities() []string {
	caps, err := capability.NewPid2(0)
	if err == nil {
		err = caps.Load()
	}
	var out []string
	for _, c := range capability.ListKnown() {
		if err == nil && caps.Get(capability.PERMITTED, c) {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return out
}

// execCapabilities: root keeps the container's sets; another user only
// its bounding set, as at run; --privileged gives every capability.
func execCapabilities(base *specs.LinuxCapabilities, uid uint32, privileged bool) *specs.LinuxCapabilities {
	if privileged {
		all := ownCapabilities()
		base = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
	}
	if base == nil {
		return nil
	}
	if uid == 0 {
		return base
	}
	return &specs.LinuxCapabilities{Bounding: base.Bounding}
}

// signaler is a process signals can be forwarded to.
type signaler interface{ Signal(unix.Signal) error }
