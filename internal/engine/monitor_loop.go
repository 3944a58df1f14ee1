package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/cocin-dev/cocin/internal/cmonitor"
	"golang.org/x/sys/unix"
)

// The monitor's steady state runs in C (internal/cmonitor): once the
// container runs, the Go monitor execve's itself into the C loop, which
// execve's back into MonitorFinishMain when the init has exited.

// handover is what the Go monitor passes through the C loop to itself.
type handover struct {
	Cfg     monitorConfig `json:"cfg"`
	SockDev uint64        `json:"sockDev"`
	SockIno uint64        `json:"sockIno"`
}

// acceptBeforeStart takes the first client of `run -it` before the start.
// For the C loop it accepts in this goroutine, with no accept goroutine
// left: a connection accepted at the moment of the execve would be lost.
func (m *monitor) acceptBeforeStart() {
	if m.cfg.GoMonitor {
		go m.acceptClients()
		if m.cfg.WaitAttach {
			m.waitFirstClient(5 * time.Second)
		}
		return
	}
	if !m.cfg.WaitAttach {
		return
	}
	ul := m.ln.(*net.UnixListener)
	_ = ul.SetDeadline(time.Now().Add(5 * time.Second))
	if c, err := ul.Accept(); err == nil {
		m.hub.add(c)
	}
	_ = ul.SetDeadline(time.Time{})
}

// execLoop hands the running container to the C loop. It returns only
// when that failed; then the run carries on in Go.
// The launch sync pipe, still open after "started", goes along unnamed: the
// C loop closes it with every other inherited descriptor once it has named
// itself, so `run -d` returns with the monitor settled. Without the C loop
// it is closed here.
func (m *monitor) execLoop(pid int, s *monitorStdio) {
	defer m.closeSync()
	if m.cfg.GoMonitor {
		return
	}
	files, args, err := m.loopArgs(pid, s)
	if err == nil {
		keep := files
		if m.sync != nil {
			keep = append(keep[:len(keep):len(keep)], m.sync)
		}
		// Returns only if the exec failed: then the run carries on in Go.
		_ = execKeeping(cmonitor.Arg0, args, keep)
	}
	for _, f := range files {
		if f != nil && f != s.outR && f != s.errR && f != m.pty && f != m.stdinW {
			f.Close()
		}
	}
	m.cfg.GoMonitor = true
	go m.acceptClients()
	for _, c := range m.hub.conns() {
		go serveClient(c, m.hub, m.stdinTarget(), m.pty)
	}
}

// loopArgs builds the C loop's arguments (see internal/cmonitor) and the
// files whose descriptors they name.
func (m *monitor) loopArgs(pid int, s *monitorStdio) ([]*os.File, []string, error) {
	var files []*os.File
	args := []string{"pid=" + strconv.Itoa(pid)}
	add := func(key string, f *os.File) {
		files = append(files, f)
		args = append(args, key+"="+strconv.Itoa(int(f.Fd())))
	}
	if m.pty != nil {
		add("pty", m.pty)
	} else {
		add("out", s.outR)
		add("err", s.errR)
	}
	if in := m.stdinTarget(); in != nil {
		add("in", in)
	}
	lf, err := m.ln.(*net.UnixListener).File()
	if err != nil {
		return files, nil, err
	}
	add("ln", lf)
	for _, c := range m.hub.conns() {
		if cf, err := c.(*net.UnixConn).File(); err == nil {
			add("cl", cf)
		}
	}
	opt := logOptions(m.rec.LogOptions)
	h := handover{Cfg: m.cfg}
	if st, ok := sockStat(m.sock); ok {
		h.SockDev, h.SockIno = st.Dev, st.Ino
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return files, nil, err
	}
	args = append(args, "log="+m.rec.LogPath, "maxsize="+strconv.FormatInt(opt.MaxSize, 10),
		"maxfiles="+strconv.Itoa(opt.MaxFiles), "h="+string(hb))
	return files, args, nil
}

func sockStat(fi os.FileInfo) (*syscall.Stat_t, bool) {
	if fi == nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

// execKeeping execve's our own (sealed) executable as arg0 with exactly
// files left open across it.
func execKeeping(arg0 string, args []string, files []*os.File) error {
	for _, f := range files {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
			return err
		}
	}
	err := unix.Exec("/proc/self/exe", append([]string{arg0}, args...), os.Environ())
	for _, f := range files {
		_, _ = unix.FcntlInt(f.Fd(), unix.F_SETFD, unix.FD_CLOEXEC)
	}
	return fmt.Errorf("exec monitor loop: %w", err)
}

func (h *hub) conns() []net.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := make([]net.Conn, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	return cs
}

// MonitorFinishMain is the monitor back from the C loop after the init
// exited: it records the exit and goes on as the Go monitor does after a
// run (exit frame, --rm, restart policy). It never returns.
func MonitorFinishMain() {
	if name, err := unix.BytePtrFromString(MonitorArg0); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	m, code, err := resumeMonitor(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocin: monitor: %v\n", err)
		os.Exit(1)
	}
	oom, _ := m.e.Runtime.OOMKilled(m.rec.ID)
	_ = m.e.Runtime.Delete(m.rec.ID, true)
	m.e.detachNetwork(m.rec.ID)
	m.e.recordExit(m.rec.ID, code, oom, nil)
	m.afterExit(code)
	m.ln.Close()
	m.removeSocket()
	os.Exit(0)
}

// resumeMonitor rebuilds the monitor from the C loop's arguments.
func resumeMonitor(args []string) (*monitor, int, error) {
	m := &monitor{}
	// As in setup: caught, so that containers of a restart get defaults.
	m.catchSignals()
	code := -1
	var h handover
	var conns []net.Conn
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "status":
			code, _ = strconv.Atoi(v)
		case "ln":
			if fd, err := strconv.Atoi(v); err == nil {
				ln, err := net.FileListener(os.NewFile(uintptr(fd), "attach"))
				if err != nil {
					return nil, 0, err
				}
				unix.CloseOnExec(fd)
				m.ln = ln
			}
		case "cl":
			if fd, err := strconv.Atoi(v); err == nil {
				f := os.NewFile(uintptr(fd), "client")
				if c, err := net.FileConn(f); err == nil {
					conns = append(conns, c)
				}
				f.Close()
			}
		case "h":
			if err := json.Unmarshal([]byte(v), &h); err != nil {
				return nil, 0, fmt.Errorf("hand-over: %w", err)
			}
		}
	}
	if code < 0 || m.ln == nil || h.Cfg.ID == "" {
		return nil, 0, errors.New("bad hand-over from the monitor loop")
	}
	m.cfg = h.Cfg
	if err := m.reload(h); err != nil {
		return nil, 0, err
	}
	for _, c := range conns {
		m.hub.add(c)
	}
	return m, code, nil
}

// reload reopens what setup opened: engine, record, spec, log, socket.
func (m *monitor) reload(h handover) error {
	if err := m.open(); err != nil {
		return err
	}
	if fi, err := os.Stat(m.e.attachSocketPath(m.rec.ID)); err == nil {
		if st, ok := sockStat(fi); ok && st.Dev == h.SockDev && st.Ino == h.SockIno {
			m.sock = fi
		}
	}
	return nil
}

// backoff sleeps out a restart back-off; stop and rm end it early with
// SIGUSR1 (no polling), after which the record decides what happens.
func (m *monitor) backoff(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.wake:
	}
}

// catchSignals makes the monitor survive what a terminal or a session
// sends. Catch, not ignore: Go keeps an ignored SIGHUP or SIGINT ignored
// across exec (for nohup), so the container would inherit SIG_IGN; caught
// signals are reset to their default in the child. SIGUSR1 wakes a
// restart back-off.
func (m *monitor) catchSignals() {
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGPIPE, unix.SIGTERM)
	m.wake = make(chan os.Signal, 1)
	signal.Notify(m.wake, unix.SIGUSR1)
}
