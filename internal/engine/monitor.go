package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/cocin-dev/cocin/internal/logs"
	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MonitorArg0 is argv[0] of a container monitor; cmd/cocin dispatches on it.
const MonitorArg0 = "cocin-monitor"

// monitorConfig is what the launching command sends the monitor (fd 3).
type monitorConfig struct {
	Engine Config `json:"engine"`
	ID     string `json:"id"`
	// WaitAttach holds the start until a client attaches (`run -it`), so
	// that it sees the very first output.
	WaitAttach bool `json:"waitAttach"`
	// Fresh: the container was made by this `run`, so a failed first
	// start removes it; a `start` of an existing container keeps it.
	Fresh bool `json:"fresh"`
	// GoMonitor keeps the whole run in Go (COCIN_GO_MONITOR=1), not in
	// the C loop of internal/cmonitor: for comparison and as a fallback.
	GoMonitor bool `json:"goMonitor,omitempty"`
	// Trace: the caller runs with --trace; the monitor times its first
	// start and sends the steps with "started".
	Trace bool `json:"trace,omitempty"`
}

// syncMsg is what the monitor reports to the launching command (fd 4).
type syncMsg struct {
	Stage   string `json:"stage"` // "created", "started" or "error"
	Pid     int    `json:"pid,omitempty"`
	Message string `json:"message,omitempty"`
	Code    int    `json:"code,omitempty"`
	// Steps are the monitor's traced steps up to the start (--trace).
	Steps *trace.Span `json:"steps,omitempty"`
}

// launchMonitor starts the monitor of container id, detached from the
// caller (own session, no stdio), and returns a decoder of its sync
// messages. The monitor is executed from the sealed binary too.
func (e *Engine) launchMonitor(ctx context.Context, id string, waitAttach, fresh bool) (*json.Decoder, func(), error) {
	exe, err := runtime.SealedExecutable()
	if err != nil {
		return nil, nil, err
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer cfgR.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		return nil, nil, err
	}
	defer syncW.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{MonitorArg0},
		Env:         []string{},
		ExtraFiles:  []*os.File{cfgR, syncW},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		cfgW.Close()
		syncR.Close()
		return nil, nil, fmt.Errorf("start monitor: %w", err)
	}
	// The monitor outlives us; its exit is not ours to wait for.
	_ = cmd.Process.Release()
	err = json.NewEncoder(cfgW).Encode(monitorConfig{
		Engine: e.cfg, ID: id, WaitAttach: waitAttach, Fresh: fresh,
		GoMonitor: os.Getenv("COCIN_GO_MONITOR") == "1", Trace: trace.FromContext(ctx) != nil,
	})
	cfgW.Close()
	if err != nil {
		syncR.Close()
		return nil, nil, err
	}
	return json.NewDecoder(syncR), func() { syncR.Close() }, nil
}

// readSync reads the next sync message; a monitor that died says so.
func readSync(d *json.Decoder, want string) (syncMsg, error) {
	var m syncMsg
	if err := d.Decode(&m); err != nil {
		return m, fmt.Errorf("container monitor exited before the container %s", want)
	}
	if m.Stage == "error" {
		code := m.Code
		if code == 0 {
			code = 125
		}
		return m, &StatusError{Code: code, Err: errors.New(m.Message)}
	}
	return m, nil
}

// monitor is the parent of one container's init for the container's life.
type monitor struct {
	e      *Engine
	cfg    monitorConfig
	sync   *os.File
	rec    *state.Container
	spec   *specs.Spec
	log    *logs.Writer
	hub    *hub
	ln     net.Listener
	stdinW *os.File // our end of the container's stdin (-i without -t)
	pty    *os.File // the pty master (-t)
	wake   chan os.Signal
	sock   os.FileInfo
}

func (m *monitor) removeSocket() {
	p := m.e.attachSocketPath(m.rec.ID)
	if fi, err := os.Stat(p); err == nil && m.sock != nil && os.SameFile(fi, m.sock) {
		_ = os.Remove(p)
	}
}

// MonitorMain is the monitor process. It never returns.
func MonitorMain() {
	// The sealed binary runs as /proc/self/fd/N, which would make the
	// monitor show as "N" in ps and top; name it.
	if name, err := unix.BytePtrFromString(MonitorArg0); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	m := &monitor{sync: os.NewFile(4, "sync")}
	if err := m.run(); err != nil {
		m.report(syncMsg{Stage: "error", Message: err.Error(), Code: ExitCode(err)})
		os.Exit(1)
	}
	os.Exit(0)
}

func (m *monitor) report(msg syncMsg) {
	if m.sync == nil {
		return
	}
	// After "started" the pipe stays open until the monitor settles: the C
	// loop closes it once it has named itself (see execLoop).
	if json.NewEncoder(m.sync).Encode(msg) != nil || (msg.Stage != "created" && msg.Stage != "started") {
		m.closeSync()
	}
}

func (m *monitor) closeSync() {
	if m.sync != nil {
		m.sync.Close()
		m.sync = nil
	}
}

func (m *monitor) run() error {
	if err := m.setup(); err != nil {
		m.cleanupFailed(err)
		return err
	}
	defer m.ln.Close()
	defer m.removeSocket()
	code, err := m.runOnce(true)
	if err != nil {
		m.cleanupFailed(err)
		return err
	}
	m.afterExit(code)
	return nil
}

// afterExit applies --rm and the restart policy once the container exited
// with code, running it again as long as the policy says.
func (m *monitor) afterExit(code int) {
	for {
		delay, again := m.shouldRestart(code)
		if !again {
			// --rm: removed before the attached client hears the exit,
			// so that `run --rm -it` returns with the container gone
			// (its name free), as Docker's does.
			if m.rec.AutoRemove {
				_ = m.e.removeContainer(context.Background(), m.rec)
			}
			m.hub.finish(code)
			return
		}
		m.markRestarting()
		m.backoff(delay)
		if wanted, err := m.remountIfWanted(); !wanted || err != nil {
			if err != nil {
				m.e.recordExit(m.rec.ID, code, false, err)
			}
			m.hub.finish(code)
			return
		}
		var err error
		if code, err = m.runOnce(false); err != nil {
			code = 128
		}
	}
}

func (m *monitor) setup() error {
	if err := json.NewDecoder(os.NewFile(3, "config")).Decode(&m.cfg); err != nil {
		return fmt.Errorf("read monitor config: %w", err)
	}
	// Orphans of the container (exec'd processes whose parent died) are
	// ours to reap.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	m.catchSignals()
	if err := m.open(); err != nil {
		return err
	}
	sock := m.e.attachSocketPath(m.rec.ID)
	_ = os.MkdirAll(filepath.Dir(sock), 0o700)
	_ = os.Remove(sock)
	var err error
	if m.ln, err = net.Listen("unix", sock); err != nil {
		return fmt.Errorf("attach socket: %w", err)
	}
	// A later monitor of the same container (started while this one was
	// in its back-off) reuses the path: remove only our own socket.
	m.ln.(*net.UnixListener).SetUnlinkOnClose(false)
	m.sock, _ = os.Stat(sock)
	return nil
}

func logOptions(o map[string]string) logs.Options {
	var opt logs.Options
	if v, ok := o["max-size"]; ok {
		opt.MaxSize, _ = units.RAMInBytes(v)
	}
	if v, ok := o["max-file"]; ok {
		opt.MaxFiles, _ = strconv.Atoi(v)
	}
	return opt
}

// cleanupFailed undoes a container whose first start failed: one made by
// this run goes altogether; an existing one (`start`) stays, without its
// runtime side and mount, with the reason in its record (cause may be nil
// when the monitor's own setup failed).
func (m *monitor) cleanupFailed(cause error) {
	if m.rec == nil || m.e == nil {
		return
	}
	_ = m.e.Runtime.Delete(m.rec.ID, true)
	if m.cfg.Fresh {
		_ = m.e.removeContainer(context.Background(), m.rec)
		return
	}
	_ = m.e.unmountRootfs(m.rec)
	_, _ = m.e.Containers.Update(m.rec.ID, func(c *state.Container) error {
		if cause != nil {
			c.State.Error = cause.Error()
		}
		c.Owner, c.OwnerStart = 0, 0
		return nil
	})
}

// runOnce runs the container once and returns its exit code.
func (m *monitor) runOnce(first bool) (int, error) {
	stdio, err := m.newStdio()
	if err != nil {
		return 0, err
	}
	defer stdio.closeChild()
	ctx, span := context.Background(), (*trace.Span)(nil)
	if first {
		// From here the record names this monitor (markRestarting does
		// for later runs): if it dies before recording the start, the
		// next command repairs the container.
		if err := m.e.claim(m.rec.ID); err != nil {
			stdio.closeAll()
			return 0, err
		}
		if m.cfg.Trace {
			span = trace.NewRoot("monitor")
			ctx = trace.WithSpan(ctx, span)
		}
	}
	cctx, end := trace.Step(ctx, "create container")
	ctr, err := m.e.Runtime.Create(cctx, stdio.opts(m.rec.ID, m.spec))
	end()
	if err != nil {
		stdio.closeAll()
		return 0, err
	}
	defer ctr.Close()
	stdio.closeChild()
	_, end = trace.Step(ctx, "attach network")
	err = m.e.attachNetwork(m.rec, ctr.Pid)
	end()
	if err != nil {
		return 0, err
	}
	if err := stdio.receivePty(m); err != nil {
		return 0, err
	}
	if first {
		m.report(syncMsg{Stage: "created", Pid: ctr.Pid})
		m.acceptBeforeStart()
	}
	_, end = trace.Step(ctx, "start")
	if err := m.e.Runtime.Start(m.rec.ID); err != nil {
		return 0, err
	}
	if err := ctr.Started(); err != nil {
		return 0, err
	}
	end()
	_, end = trace.Step(ctx, "record start")
	m.e.recordStart(m.rec.ID, ctr.Pid)
	end()
	if first {
		span.End()
		m.report(syncMsg{Stage: "started", Pid: ctr.Pid, Steps: span})
	}
	m.execLoop(ctr.Pid, stdio) // returns only if the C loop is not used
	copiers := stdio.pump(m)
	code := reapUntil(ctr.Pid)
	oom, _ := ctr.Cgroup().OOMKilled()
	// Kill what is left in the cgroup so the output pipes close.
	_ = m.e.Runtime.Delete(m.rec.ID, true)
	m.e.detachNetwork(m.rec.ID)
	copiers.Wait()
	m.e.recordExit(m.rec.ID, code, oom, nil)
	return code, nil
}

// reapUntil reaps every child (we are a subreaper) until pid exits and
// returns its exit code, 128+signal when it was killed.
func reapUntil(pid int) int {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 255
		}
		if p == pid {
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
}

func (m *monitor) acceptClients() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.hub.add(c)
		m.firstClient()
		go serveClient(c, m.hub, m.stdinTarget(), m.pty)
	}
}

var firstClientOnce sync.Once
var firstClientCh = make(chan struct{})

func (m *monitor) firstClient() { firstClientOnce.Do(func() { close(firstClientCh) }) }

func (m *monitor) waitFirstClient(d time.Duration) {
	select {
	case <-firstClientCh:
	case <-time.After(d):
	}
}

func (m *monitor) stdinTarget() *os.File {
	if m.pty != nil {
		return m.pty
	}
	return m.stdinW
}

// shouldRestart applies the restart policy with Docker's back-off: 100 ms
// doubling per consecutive restart, at most a minute.
func (m *monitor) shouldRestart(code int) (time.Duration, bool) {
	rec, err := m.e.Containers.Get(m.rec.ID)
	if err != nil || rec.ManuallyStopped {
		return 0, false
	}
	p := rec.RestartPolicy
	switch p.Name {
	case "always", "unless-stopped":
	case "on-failure":
		if code == 0 || (p.MaximumRetryCount > 0 && rec.RestartCount >= p.MaximumRetryCount) {
			return 0, false
		}
	default:
		return 0, false
	}
	n := rec.RestartCount
	if n > 10 {
		n = 10
	}
	delay := 100 * time.Millisecond << n
	if delay > time.Minute {
		delay = time.Minute
	}
	_, _ = m.e.Containers.Update(rec.ID, func(c *state.Container) error { c.RestartCount++; return nil })
	return delay, true
}

// markRestarting marks the container restarting with this monitor as its
// owner: recordExit cleared the owner, and without one the next command's
// refresh would take the back-off for a dead monitor.
func (m *monitor) markRestarting() {
	me, _ := self()
	_, _ = m.e.Containers.Update(m.rec.ID, func(c *state.Container) error {
		if c.State.Status == state.Exited && !c.ManuallyStopped {
			c.State.Status = state.Restarting
			c.Owner, c.OwnerStart = me.pid, me.start
		}
		return nil
	})
}

// remountIfWanted mounts the rootfs for the next run unless, during the
// back-off, the container was stopped (then it is marked exited) or
// removed. The check and the mount happen under the container's lock,
// which stop and rm take to mark the container, so a removed container is
// never mounted again.
func (m *monitor) remountIfWanted() (bool, error) {
	unlock, err := m.e.Containers.Lock(m.rec.ID)
	if err != nil {
		return false, nil // removed
	}
	defer unlock()
	cur, err := m.e.Containers.Get(m.rec.ID)
	if err != nil {
		return false, nil
	}
	if cur.State.Status != state.Restarting {
		return false, nil // stopped, or started again under another monitor
	}
	if cur.ManuallyStopped {
		cur.State.Status = state.Exited
		cur.Owner, cur.OwnerStart = 0, 0
		_ = m.e.Containers.Write(cur)
		return false, nil
	}
	img, err := m.e.Images.Get(m.rec.ImageID)
	if err != nil {
		return true, err
	}
	_, err = m.e.mountRootfs(img, m.rec.Dir, m.rec.AutoRemove)
	return true, err
}

// recordStart marks the container running with this process as its owner.
func (e *Engine) recordStart(id string, pid int) {
	me, _ := self()
	c, err := e.Containers.Update(id, func(c *state.Container) error {
		c.State = state.State{Status: state.Running, Pid: pid, StartedAt: time.Now().UTC()}
		c.Owner, c.OwnerStart = me.pid, me.start
		return nil
	})
	if err == nil {
		e.emit(c, "start", nil)
	}
}

// recordExit releases the rootfs mount, then stores the exit once. The
// mount goes first: a command that sees the container exited (wait, then
// start) must never find the old mount still there, about to be removed
// under the new run.
func (e *Engine) recordExit(id string, code int, oom bool, cause error) {
	if c, err := e.Containers.Get(id); err == nil {
		_ = e.unmountRootfs(c)
	}
	c, err := e.Containers.Update(id, func(c *state.Container) error {
		c.State.Status = state.Exited
		c.State.Pid = 0
		c.State.ExitCode = code
		c.State.OOMKilled = oom
		c.State.FinishedAt = time.Now().UTC()
		if cause != nil {
			c.State.Error = cause.Error()
		}
		c.Owner, c.OwnerStart = 0, 0
		return nil
	})
	if err == nil {
		e.emit(c, "die", map[string]string{"exitCode": strconv.Itoa(code)})
	}
}

func (e *Engine) setStatus(id string, s state.Status) {
	_, _ = e.Containers.Update(id, func(c *state.Container) error { c.State.Status = s; return nil })
}

// monitorStdio is the container's stdio as the monitor sets it up.
type monitorStdio struct {
	tty                    bool
	consoleLocal, consoleR *os.File
	outR, outW, errR, errW *os.File
	inR                    *os.File
}

func (m *monitor) newStdio() (*monitorStdio, error) {
	s := &monitorStdio{tty: m.rec.Tty}
	if s.tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		s.consoleLocal, s.consoleR = os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console")
		return s, nil
	}
	var err error
	if s.outR, s.outW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if s.errR, s.errW, err = os.Pipe(); err != nil {
		s.closeAll()
		return nil, err
	}
	if m.rec.OpenStdin {
		if s.inR, m.stdinW, err = os.Pipe(); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	return s, nil
}

func (s *monitorStdio) opts(id string, spec *specs.Spec) runtime.CreateOpts {
	o := runtime.CreateOpts{ID: id, Spec: spec, LoopbackUp: true}
	if s.tty {
		o.ConsoleSocket = s.consoleR
	} else {
		o.Stdin, o.Stdout, o.Stderr = s.inR, s.outW, s.errW
	}
	return o
}

// closeChild closes the ends that belong to the container.
func (s *monitorStdio) closeChild() {
	for _, f := range []*os.File{s.consoleR, s.outW, s.errW, s.inR} {
		if f != nil {
			f.Close()
		}
	}
}

func (s *monitorStdio) closeAll() {
	s.closeChild()
	for _, f := range []*os.File{s.consoleLocal, s.outR, s.errR} {
		if f != nil {
			f.Close()
		}
	}
}

func (s *monitorStdio) receivePty(m *monitor) error {
	if !s.tty {
		return nil
	}
	defer s.consoleLocal.Close()
	master, err := runtime.RecvFD(s.consoleLocal)
	if err != nil {
		return fmt.Errorf("receive terminal: %w", err)
	}
	if m.pty != nil {
		m.pty.Close()
	}
	m.pty = master
	return nil
}

// pump copies the container's output to the log and attached clients.
func (s *monitorStdio) pump(m *monitor) *sync.WaitGroup {
	var wg sync.WaitGroup
	copyTo := func(stream string, typ byte, r *os.File) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			_ = m.log.Copy(stream, teeReader{r: r, h: m.hub, typ: typ})
		}()
	}
	if s.tty {
		// The pty's reads end with EIO once the last slave closes.
		copyTo("stdout", frameStdout, m.pty)
		return &wg
	}
	copyTo("stdout", frameStdout, s.outR)
	copyTo("stderr", frameStderr, s.errR)
	return &wg
}

// open loads what the monitor works with: the engine, the record, its
// spec, the attach hub and the log writer (at setup, and again when the C
// loop hands the container back).
func (m *monitor) open() error {
	e, err := New(m.cfg.Engine)
	if err != nil {
		return err
	}
	m.e = e
	if m.rec, err = e.Containers.Get(m.cfg.ID); err != nil {
		return err
	}
	m.spec = &specs.Spec{}
	if err := json.Unmarshal(m.rec.Spec, m.spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	m.hub = newHub(m.rec.Tty)
	if m.log, err = logs.NewWriter(m.rec.LogPath, logOptions(m.rec.LogOptions)); err != nil {
		return err
	}
	return nil
}
