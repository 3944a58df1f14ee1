package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Status values of the runtime-spec state.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

// Errors callers test with errors.Is.
var (
	ErrNotExist = errors.New("container does not exist")
	ErrExist    = errors.New("container already exists")
	ErrRunning  = errors.New("container is running")
)

// Runtime manages containers whose state lives under Root.
type Runtime struct {
	Root string
	// DefaultCgroupParent is used when the spec names no cgroupsPath.
	DefaultCgroupParent string
	// SeccompCache, when set, keeps compiled seccomp programs across runs.
	SeccompCache string
}

// CreateOpts are the inputs of Create besides the spec.
type CreateOpts struct {
	ID     string
	Spec   *specs.Spec
	Bundle string // directory that relative paths in Spec are relative to
	// Stdio of the init when there is no terminal; nil means /dev/null.
	Stdin, Stdout, Stderr *os.File
	// ConsoleSocket receives the pty master when Spec.Process.Terminal.
	ConsoleSocket *os.File
	NoPivot       bool
	// ExtraFiles are passed to the init after fd 6 (--preserve-fds).
	ExtraFiles []*os.File
	// LoopbackUp brings lo up in a network namespace the container creates
	// (the engine's containers, --network none included, as with Docker;
	// the runc-compatible CLI leaves it to CNI, as runc does).
	LoopbackUp bool
}

// record is the persistent part of a container's runtime state.
type record struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	PidStart    uint64            `json:"pidStart"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CgroupPath  string            `json:"cgroupPath"`
	// Hooks tells start and delete to read config.json for poststart and
	// poststop hooks; without it they never open it.
	Hooks bool `json:"hooks,omitempty"`
}

// Container is a created container, as seen by the process that created it.
type Container struct {
	ID     string
	Pid    int
	rt     *Runtime
	rec    record
	cmd    *exec.Cmd
	pidfd  int
	status *json.Decoder
	pipe   *os.File
	cg     *cgroups.Cgroup

	waitOnce sync.Once
	waitErr  error
	exitCode int
}

var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+.-]+$`) })

func (r *Runtime) dir(id string) string { return filepath.Join(r.Root, id) }

// Create starts the container's init in new namespaces and returns once the
// init has prepared the root filesystem and waits for Start.
func (r *Runtime) Create(ctx context.Context, o CreateOpts) (c *Container, err error) {
	if !idRE().MatchString(o.ID) || len(o.ID) > 1024 {
		return nil, fmt.Errorf("invalid container id %q", o.ID)
	}
	if o.Spec == nil || o.Spec.Process == nil || o.Spec.Root == nil {
		return nil, errors.New("config needs process and root")
	}
	if err := checkSharedMounts(o.Spec); err != nil {
		return nil, err
	}
	dir := r.dir(o.ID)
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExist, o.ID)
		}
		return nil, err
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	undo = append(undo, func() { os.RemoveAll(dir) })

	rootfs := o.Spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(o.Bundle, rootfs)
	}
	fifo, err := makeExecFifo(dir)
	if err != nil {
		return nil, err
	}
	defer fifo.Close()

	_, end := trace.Step(ctx, "cgroup")
	cg, cgPath, err := r.createCgroup(o.ID, o.Spec)
	end()
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = cg.Destroy() })

	c = &Container{ID: o.ID, rt: r, cg: cg, pidfd: -1}
	if err := c.startInit(ctx, o, rootfs, fifo); err != nil {
		return nil, err
	}
	undo = append(undo, c.killInit)

	c.rec = record{
		ID: o.ID, Bundle: o.Bundle, Rootfs: rootfs, Pid: c.Pid, Created: time.Now().UTC(),
		Annotations: o.Spec.Annotations, CgroupPath: cgPath,
		Hooks: len(hooksFor(o.Spec, HookPoststart))+len(hooksFor(o.Spec, HookPoststop)) > 0,
	}
	c.rec.PidStart, _ = pidStartTime(c.Pid)
	_, end = trace.Step(ctx, "save state")
	err = c.saveRecord(o.Spec)
	end()
	if err != nil {
		return nil, err
	}
	return c, nil
}

func makeExecFifo(dir string) (*os.File, error) {
	p := filepath.Join(dir, "exec.fifo")
	if err := unix.Mkfifo(p, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// mkfifo honours the umask; the init may write to it as another user.
	if err := os.Chmod(p, 0o622); err != nil {
		return nil, err
	}
	fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return os.NewFile(uintptr(fd), p), nil
}

func (r *Runtime) createCgroup(id string, spec *specs.Spec) (*cgroups.Cgroup, string, error) {
	parent, name := r.DefaultCgroupParent, id
	if spec.Linux != nil && spec.Linux.CgroupsPath != "" {
		p := strings.Trim(spec.Linux.CgroupsPath, "/")
		parent, name = filepath.Dir(p), filepath.Base(p)
		if parent == "." {
			// "/name": right below the hierarchy root, as runc places it.
			parent = cgroups.RootParent
		}
	}
	var res *specs.LinuxResources
	if spec.Linux != nil {
		res = withDeviceRules(spec.Linux.Resources, spec.Linux.Devices)
		res = withoutPidsLimit(res)
	}
	cg, err := cgroups.Create(cgroups.Config{Parent: parent, Name: name, Resources: res})
	if err != nil {
		return nil, "", fmt.Errorf("create cgroup: %w", err)
	}
	return cg, filepath.Join(parent, name), nil
}

// cloneFlags maps the spec's new namespaces to clone flags. The cgroup
// namespace is unshared by the init itself once it sits in its cgroup.
func cloneFlags(spec *specs.Spec) (flags uintptr, cgroupNS bool, err error) {
	if spec.Linux == nil {
		return 0, false, nil
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			continue // joined by startJoined
		}
		switch ns.Type {
		case specs.PIDNamespace:
			flags |= unix.CLONE_NEWPID
		case specs.NetworkNamespace:
			flags |= unix.CLONE_NEWNET
		case specs.MountNamespace:
			flags |= unix.CLONE_NEWNS
		case specs.IPCNamespace:
			flags |= unix.CLONE_NEWIPC
		case specs.UTSNamespace:
			flags |= unix.CLONE_NEWUTS
		case specs.UserNamespace:
			flags |= unix.CLONE_NEWUSER
		case specs.CgroupNamespace:
			cgroupNS = true
		case specs.TimeNamespace:
			flags |= unix.CLONE_NEWTIME
		default:
			return 0, false, fmt.Errorf("unknown namespace type %q", ns.Type)
		}
	}
	return flags, cgroupNS, nil
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// startInit starts the init process, places it in its cgroup, sends the
// configuration and waits for "ready".
func (c *Container) startInit(ctx context.Context, o CreateOpts, rootfs string, fifo *os.File) error {
	ctx, end := trace.Step(ctx, "start init (clone namespaces)")
	defer end()
	_, endSeal := trace.Step(ctx, "seal binary")
	exe, err := SealedExecutable()
	endSeal()
	if err != nil {
		return err
	}
	flags, cgroupNS, err := cloneFlags(o.Spec)
	if err != nil {
		return err
	}
	prog, err := c.rt.seccompProgram(ctx, o.Spec)
	if err != nil {
		return err
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	stR, stW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer stW.Close()
	c.pipe = stR

	stdin, closeIn, err := fileOrNull(o.Stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	stdout, closeOut, err := fileOrNull(o.Stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	stderr, closeErr, err := fileOrNull(o.Stderr)
	if err != nil {
		return err
	}
	defer closeErr()

	console := o.ConsoleSocket
	if o.Spec.Process.Terminal && console == nil {
		return errors.New("a terminal needs a console socket")
	}
	if console == nil {
		console = stdin // keeps fd 6 occupied so --preserve-fds numbering stays fixed
	}
	pidfd := -1
	attr := &syscall.SysProcAttr{
		Cloneflags: flags,
		PidFD:      &pidfd,
	}
	if flags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(o.Spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(o.Spec.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		// Become the namespace's root before execve: the host's uid 0 has
		// no mapping there, and an unmapped process gets no capabilities.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	if fd, err := c.cg.OpenDirFD(); err == nil {
		defer unix.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{InitArg0},
		Env:         []string{},
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  append([]*os.File{cfgR, stW, fifo, console}, o.ExtraFiles...),
		SysProcAttr: attr,
	}
	_, endClone := trace.Step(ctx, "clone")
	err = startJoined(cmd, joinedNamespaces(o.Spec))
	endClone()
	if err != nil {
		return fmt.Errorf("start container init: %w", err)
	}
	c.cmd, c.Pid, c.pidfd = cmd, cmd.Process.Pid, pidfd
	stW.Close()
	cfgR.Close()
	// The configuration goes first, so the init prepares its root while we
	// place it in its cgroup (slow on v1: every move waits for an RCU grace
	// period). A "cgroup" message then tells the init it is in place; it
	// waits for that before anything that depends on its cgroup. With
	// prestart or createRuntime hooks the pipe stays open for their result.
	cfg := initConfig{Spec: o.Spec, Rootfs: rootfs, NoPivot: o.NoPivot, SharedMounts: !ownMountNamespace(o.Spec), Trace: trace.FromContext(ctx) != nil, CgroupNS: cgroupNS, PreserveFDs: len(o.ExtraFiles), Seccomp: prog, LoopbackUp: o.LoopbackUp}
	cfg.State = specs.State{Version: specs.Version, ID: o.ID, Status: specs.StateCreated, Pid: c.Pid, Bundle: o.Bundle, Annotations: o.Spec.Annotations}
	cfg.HookSync = len(hooksFor(o.Spec, HookPrestart))+len(hooksFor(o.Spec, HookCreateRuntime)) > 0
	enc := json.NewEncoder(cfgW)
	if err := enc.Encode(&cfg); err != nil {
		return fmt.Errorf("send config to init: %w", err)
	}
	if !attr.UseCgroupFD {
		_, endAdd := trace.Step(ctx, "join cgroup (v1)")
		err := c.cg.AddProc(c.Pid)
		endAdd()
		if err != nil {
			return fmt.Errorf("add init to cgroup: %w", err)
		}
	}
	if err := enc.Encode(statusMsg{Type: "cgroup"}); err != nil {
		return fmt.Errorf("tell init it is in its cgroup: %w", err)
	}
	if !cfg.HookSync {
		cfgW.Close()
	}
	c.status = json.NewDecoder(stR)
	_, endReady := trace.Step(ctx, "wait for init ready")
	m, err := c.waitReady(o.Spec, &cfg.State, cfgW)
	endReady()
	if err != nil {
		return err
	}
	if err := applyPidsLimit(c.cg, o.Spec); err != nil {
		return err
	}
	for _, s := range m.Steps {
		trace.FromContext(ctx).Add(s)
	}
	return nil
}

// waitReady reads the init's messages until "ready", running the
// prestart and createRuntime hooks when the init asks for them.
func (c *Container) waitReady(spec *specs.Spec, st *specs.State, cfgW *os.File) (statusMsg, error) {
	for {
		m, err := readStatus(c.status)
		if err != nil {
			return m, fmt.Errorf("container init died before it was ready: %s", c.describeDeath())
		}
		if m.Type != "hooks" {
			if m.Type != "ready" {
				return m, m.err()
			}
			return m, nil
		}
		reply := statusMsg{Type: "ok"}
		err = runHooks(spec, HookPrestart, st)
		if err == nil {
			err = runHooks(spec, HookCreateRuntime, st)
		}
		if err != nil {
			reply = statusMsg{Type: "error", Message: err.Error()}
		}
		if serr := sendStatus(cfgW, reply); serr != nil && err == nil {
			err = serr
		}
		cfgW.Close()
		if err != nil {
			return m, err
		}
	}
}

// describeDeath waits for an init that closed its status pipe early.
func (c *Container) describeDeath() string {
	code, err := c.Wait()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("exit status %d", code)
}

func (c *Container) killInit() {
	if c.cmd == nil {
		return
	}
	_ = c.signal(unix.SIGKILL)
	_, _ = c.Wait()
}

func (c *Container) saveRecord(spec *specs.Spec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := state.ReplaceFile(filepath.Join(c.rt.dir(c.ID), "config.json"), b, 0o600); err != nil {
		return err
	}
	rb, err := json.Marshal(c.rec)
	if err != nil {
		return err
	}
	return state.ReplaceFile(filepath.Join(c.rt.dir(c.ID), "state.json"), rb, 0o600)
}

// Start lets a created container's init execve the user's process. When the
// caller is the init's parent, Started then tells whether execve succeeded.
func (r *Runtime) Start(id string) error {
	dir := r.dir(id)
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "exec.fifo")
	// The pidfd first: opening the FIFO lets the init run its command,
	// which may exit and be reaped (by a shim) at once.
	pidfd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil {
		return fmt.Errorf("container init is gone: %w", err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("cannot start a container that has already started: %s", id)
		}
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	if err := waitFifo(fd, pidfd); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return err
	}
	// The spec runs poststart hooks after the user's process is executed:
	// wait for the init's close-on-exec end of the FIFO to hang up.
	if err := waitHangup(fd); err != nil {
		return err
	}
	r.postHooks(rec, HookPoststart, specs.StateRunning)
	return nil
}

// postHooks runs the poststart or poststop hooks of a container whose
// record says it has some.
func (r *Runtime) postHooks(rec *record, phase string, status specs.ContainerState) {
	if !rec.Hooks {
		return
	}
	spec, err := r.Spec(rec.ID)
	if err != nil {
		return
	}
	st := &specs.State{Version: specs.Version, ID: rec.ID, Status: status, Pid: rec.Pid, Bundle: rec.Bundle, Annotations: rec.Annotations}
	runHooksWarn(spec, phase, st)
}

// poll is poll(2), again after a signal interrupted it.
func poll(fds []unix.PollFd, ms int) (int, error) {
	for {
		n, err := unix.Poll(fds, ms)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// waitHangup waits until every writer of the FIFO has closed it.
func waitHangup(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := poll(fds, -1); err != nil {
			return err
		}
		if fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return nil
		}
		var b [16]byte
		if n, _ := unix.Read(fd, b[:]); n == 0 {
			return nil
		}
	}
}

// waitFifo waits until the init has opened the FIFO and written its byte,
// or has died.
func waitFifo(fd, pidfd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := poll(fds, -1); err != nil {
			return err
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var b [1]byte
			n, _ := unix.Read(fd, b[:])
			if n == 1 {
				return nil
			}
		}
		if fds[1].Revents != 0 {
			return errors.New("container init exited before start")
		}
		// POLLHUP before the writer opened: keep waiting.
		if fds[0].Revents&unix.POLLHUP != 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// Started waits, in the init's parent, until the user's process has been
// executed; it returns the failure the init reported otherwise.
func (c *Container) Started() error {
	defer c.pipe.Close()
	m, err := readStatus(c.status)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.err()
}

// Wait waits for the init (the container's PID 1) to exit and returns its
// exit code, 128+signal when killed. Only the init's parent may call it.
func (c *Container) Wait() (int, error) {
	c.waitOnce.Do(func() {
		err := c.cmd.Wait()
		c.exitCode = exitCode(c.cmd.ProcessState)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			c.waitErr = err
		}
		if c.pidfd >= 0 {
			unix.Close(c.pidfd)
			c.pidfd = -1
		}
	})
	return c.exitCode, c.waitErr
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Signal sends sig to the init through its pidfd.
func (c *Container) Signal(sig unix.Signal) error { return c.signal(sig) }

func (c *Container) signal(sig unix.Signal) error {
	if c.pidfd >= 0 {
		return unix.PidfdSendSignal(c.pidfd, sig, nil, 0)
	}
	return c.cmd.Process.Signal(sig)
}

// Cgroup returns the container's cgroup.
func (c *Container) Cgroup() *cgroups.Cgroup { return c.cg }

// Close releases the parent's handles without waiting for the init, for a
// parent that reaps its children itself (the monitor, as a subreaper).
func (c *Container) Close() {
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
		c.pidfd = -1
	}
	if c.pipe != nil {
		c.pipe.Close()
	}
}
