package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/nsenter"
	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecArg0 is argv[0] of a process joining a container: the nsenter
// constructor acts on its prefix, cmd/cocin dispatches on the whole.
const ExecArg0 = nsenter.Arg0Prefix + "-exec"

// Descriptors of an exec'd process, besides nsenter's 3 (bootstrap) and 4
// (status): the configuration on 5, the console socket on 6 (fdConsole, as
// in the init) and the namespace files from 7 on.
const (
	fdExecConfig = 5
	fdExecNS     = 7
)

// ExecOpts describe a process to run in a running container.
type ExecOpts struct {
	// Process is complete: args, env, cwd, user, capabilities, rlimits.
	Process *specs.Process
	// Stdio when there is no terminal; nil means /dev/null.
	Stdin, Stdout, Stderr *os.File
	// ConsoleSocket receives the pty master when Process.Terminal.
	ConsoleSocket *os.File
	// Detach leaves the process to a reaper of its own: Wait is unavailable.
	Detach bool
	// Reparent, with Detach, hands the process to the caller's nearest
	// subreaper instead (runc exec -d): containerd's shim waits for the
	// PID it reads from the pid file, so that PID must become its child.
	Reparent bool
}

// execConfig is what the exec'd process reads on fdExecConfig.
type execConfig struct {
	Process *specs.Process `json:"process"`
	// Seccomp is the container's filter, compiled here (cached) as for
	// the init, and installed last before execve.
	Seccomp *SeccompProgram `json:"seccomp,omitempty"`
}

// execStatus is a status message of either nsenter's parent ("pid") or the
// process itself ("error").
type execStatus struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	Code    int    `json:"code,omitempty"`
	Pid     int    `json:"pid,omitempty"`
}

// Process is a process started by Exec; the caller is its parent (or, for
// a detached one, nobody waits here).
type Process struct {
	Pid   int
	mu    sync.Mutex // guards pidfd: signals are forwarded concurrently
	pidfd int
}

// nsFiles maps the spec's namespace types to /proc/PID/ns names.
var nsFiles = map[specs.LinuxNamespaceType]string{
	specs.UserNamespace: "user", specs.MountNamespace: "mnt", specs.UTSNamespace: "uts",
	specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net", specs.PIDNamespace: "pid",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// Exec runs o.Process inside running container id: its namespaces, its
// cgroup, its seccomp profile. It returns once the process has been
// executed, or with its failure (an *InitError with 126/127 when the
// command cannot be run). Unless detached, the caller must Wait.
func (r *Runtime) Exec(ctx context.Context, id string, o ExecOpts) (*Process, error) {
	_, end := trace.Step(ctx, "open the init's namespaces")
	rec, spec, err := r.runningRecord(id)
	if err != nil {
		end()
		return nil, err
	}
	nsf, err := openNamespaces(rec, spec)
	end()
	if err != nil {
		return nil, err
	}
	defer closeFiles(nsf)
	cg, err := cgroups.Load(cgPath(rec.CgroupPath))
	if err != nil {
		return nil, fmt.Errorf("container cgroup: %w", err)
	}
	// The container's filter, compiled (and cached) as for its init. Every
	// process gets it, exec --privileged too (as with Docker and runc).
	prog, err := r.seccompProgram(ctx, spec)
	if err != nil {
		return nil, err
	}
	_, end = trace.Step(ctx, "start process: setns, cgroup, execve")
	defer end()
	return startExec(cg, nsf, execConfig{Process: o.Process, Seccomp: prog}, o)
}

// runningRecord loads a container that runs and is not frozen.
func (r *Runtime) runningRecord(id string) (*record, *specs.Spec, error) {
	st, err := r.State(id)
	if err != nil {
		return nil, nil, err
	}
	switch st.Status {
	case specs.StateRunning:
	case StatusPaused:
		return nil, nil, fmt.Errorf("container %s is paused, unpause the container before exec", id)
	default:
		return nil, nil, fmt.Errorf("container %s is not running", id)
	}
	rec, err := r.load(id)
	if err != nil {
		return nil, nil, err
	}
	spec, err := r.Spec(id)
	if err != nil {
		return nil, nil, err
	}
	return rec, spec, nil
}

// openNamespaces opens the init's namespace files, then checks that the
// init is still the process recorded at create: the open files then pin
// the container's namespaces even if the PID is reused afterwards.
func openNamespaces(rec *record, spec *specs.Spec) ([]*os.File, error) {
	if spec.Linux == nil {
		return nil, nil
	}
	var files []*os.File
	for _, ns := range spec.Linux.Namespaces {
		name, ok := nsFiles[ns.Type]
		if !ok {
			closeFiles(files)
			return nil, fmt.Errorf("unknown namespace type %q", ns.Type)
		}
		f, err := os.Open("/proc/" + strconv.Itoa(rec.Pid) + "/ns/" + name)
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("open %s namespace: %w", name, err)
		}
		files = append(files, f)
	}
	if !rec.alive() {
		closeFiles(files)
		return nil, fmt.Errorf("container %s is not running", rec.ID)
	}
	return files, nil
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// startExec starts the sealed binary as ExecArg0 in the container's
// cgroup, hands it the namespaces and the configuration, and waits until
// the command runs or fails.
func startExec(cg *cgroups.Cgroup, nsf []*os.File, cfg execConfig, o ExecOpts) (_ *Process, err error) {
	exe, err := SealedExecutable()
	if err != nil {
		return nil, err
	}
	var nss []nsenter.Namespace
	for i, f := range nsf {
		nss = append(nss, nsenter.Namespace{Type: baseName(f.Name()), Path: "/proc/self/fd/" + strconv.Itoa(fdExecNS+i)})
	}
	boot, err := nsenter.Bootstrap(nss, o.Detach && !o.Reparent)
	if err != nil {
		return nil, err
	}
	if !o.Detach {
		if err := BecomeSubreaper(); err != nil {
			return nil, fmt.Errorf("become subreaper: %w", err)
		}
	}
	p := &pipes{}
	defer p.close()
	if err := p.open(); err != nil {
		return nil, err
	}
	cmd, cgfd, err := execCommand(exe, cg, p, nsf, o)
	if err != nil {
		return nil, err
	}
	err = cmd.Start()
	if cgfd >= 0 {
		unix.Close(cgfd)
	}
	if err != nil {
		return nil, fmt.Errorf("start exec process: %w", err)
	}
	p.closeChildEnds()
	proc, err := feedExec(cmd, cg, p, boot, cfg, o)
	if err != nil && cmd.ProcessState == nil && !o.Detach {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return proc, err
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// pipes are the exec process's bootstrap, status and config pipes.
type pipes struct {
	bootR, bootW, stR, stW, cfgR, cfgW *os.File
}

func (p *pipes) open() (err error) {
	if p.bootR, p.bootW, err = os.Pipe(); err != nil {
		return err
	}
	if p.stR, p.stW, err = os.Pipe(); err != nil {
		return err
	}
	p.cfgR, p.cfgW, err = os.Pipe()
	return err
}

func (p *pipes) closeChildEnds() {
	for _, f := range []*os.File{p.bootR, p.stW, p.cfgR} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *pipes) close() {
	p.closeChildEnds()
	for _, f := range []*os.File{p.bootW, p.stR, p.cfgW} {
		if f != nil {
			f.Close()
		}
	}
}

// execCommand builds the command; cgfd (-1 when unused) is the cgroup v2
// directory the process is born in, to close once it started.
func execCommand(exe string, cg *cgroups.Cgroup, p *pipes, nsf []*os.File, o ExecOpts) (cmd *exec.Cmd, cgfd int, err error) {
	stdin, closeIn, err := fileOrNull(o.Stdin)
	if err != nil {
		return nil, -1, err
	}
	defer closeIn()
	console := o.ConsoleSocket
	if o.Process.Terminal && console == nil {
		return nil, -1, errors.New("a terminal needs a console socket")
	}
	if console == nil {
		console = stdin // keeps fd 6 occupied so the namespace files stay at 7...
	}
	cmd = &exec.Cmd{
		Path: exe, Args: []string{ExecArg0}, Env: []string{},
		Stdin: stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		ExtraFiles:  append([]*os.File{p.bootR, p.stW, p.cfgR, console}, nsf...),
		SysProcAttr: &syscall.SysProcAttr{},
	}
	// The helper stays out of the container's cgroup: feedExec moves only
	// the process, once forked (see there).
	return cmd, -1, nil
}

// feedExec sends the namespaces, reads nsenter's pid, moves that process
// (all its threads) into the container's cgroup, then sends the
// configuration and reads the process's verdict. Moving it only once its
// Go runtime has its threads keeps them from counting against a tight
// pids.max at creation (a migration is never refused by the pids limit),
// and the process waits for its configuration, so it cannot execve, or
// fork, outside the cgroup.
func feedExec(cmd *exec.Cmd, cg *cgroups.Cgroup, p *pipes, boot []byte, cfg execConfig, o ExecOpts) (*Process, error) {
	detach := o.Detach
	if _, err := p.bootW.Write(boot); err != nil {
		return nil, fmt.Errorf("send namespaces: %w", err)
	}
	p.bootW.Close()
	d := json.NewDecoder(p.stR)
	var m execStatus
	if err := d.Decode(&m); err != nil {
		_ = cmd.Wait()
		return nil, fmt.Errorf("exec process died before joining the container: %v", cmd.ProcessState)
	}
	if m.Type != "pid" {
		_ = cmd.Wait()
		return nil, &InitError{Message: m.Message, Code: orCode(m.Code, 125)}
	}
	pid := m.Pid
	abandon := func(err error) (*Process, error) {
		_ = unix.Kill(pid, unix.SIGKILL)
		if !detach {
			_ = cmd.Wait()
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, 0, nil)
		}
		return nil, err
	}
	// "ready": its Go runtime has started the threads it needs.
	if err := d.Decode(&m); err != nil || m.Type != "ready" {
		return abandon(execFailure(m, err))
	}
	if err := cg.AddProc(pid); err != nil {
		return abandon(fmt.Errorf("add exec process to the container's cgroup: %w", err))
	}
	if err := json.NewEncoder(p.cfgW).Encode(&cfg); err != nil {
		return abandon(fmt.Errorf("send exec config: %w", err))
	}
	p.cfgW.Close()
	proc := &Process{Pid: pid, pidfd: -1}
	if detach && o.Reparent {
		// nsenter's parent exits at once; reaping it here orphans the
		// process to the nearest subreaper above us.
		_ = cmd.Wait()
	}
	if !detach {
		// nsenter's parent exits at once: the process is reparented to
		// us, a subreaper, and its pid stays ours until we reap it.
		_ = cmd.Wait()
		fd, err := unix.PidfdOpen(m.Pid, 0)
		if err != nil {
			return nil, fmt.Errorf("exec process: pidfd: %w", err)
		}
		proc.pidfd = fd
	}
	// "exec" comes just before execve; then EOF (close-on-exec) or why
	// execve failed. A process that died before "exec" (out of pids, say)
	// never ran the command, detached or not.
	err := d.Decode(&m)
	if err == nil && m.Type == "exec" {
		if err = d.Decode(&m); errors.Is(err, io.EOF) {
			return proc, nil
		}
	}
	if !detach {
		_, _ = proc.Wait()
	}
	return nil, execFailure(m, err)
}

// execFailure describes a process that did not reach execve: the error it
// reported, or that it died without one.
func execFailure(m execStatus, err error) error {
	if err == nil && m.Type == "error" {
		return &InitError{Message: m.Message, Code: orCode(m.Code, 1)}
	}
	return &InitError{Message: "exec process died before running the command (out of processes for the container's pids limit?)", Code: 126}
}

func orCode(c, def int) int {
	if c == 0 {
		return def
	}
	return c
}

// Wait reaps the process and returns its exit code, 128+signal when
// killed. Only the caller of Exec may call it, once.
func (p *Process) Wait() (int, error) {
	if p.pidfd < 0 {
		return -1, errors.New("exec process: not ours to wait for")
	}
	defer p.Close()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.Pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, err
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Signal sends sig through the pidfd, never to a reused PID.
func (p *Process) Signal(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pidfd < 0 {
		return unix.ESRCH
	}
	return unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
}

// Close releases the pidfd without waiting (a detached process).
func (p *Process) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
}

// BecomeSubreaper makes the caller the reaper of the processes Exec starts
// (nsenter's parent exits right after forking them). Call it once, early.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
