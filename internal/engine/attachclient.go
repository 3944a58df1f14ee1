package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"

	"github.com/cocin-dev/cocin/internal/state"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// detachKeys is Docker's default detach sequence: Ctrl-P Ctrl-Q.
var detachKeys = []byte{0x10, 0x11}

// AttachResult says how an attach ended.
type AttachResult struct {
	Code     int
	Detached bool
}

// attachSession connects to a container's monitor and relays the streams
// until the container exits or the user types the detach keys.
// connected, if not nil, is closed once the socket is connected.
func (e *Engine) attachSession(ctx context.Context, id string, st Streams, tty, stdin bool, connected chan struct{}) (AttachResult, error) {
	conn, err := net.Dial("unix", e.attachSocketPath(id))
	if err != nil {
		return AttachResult{}, fmt.Errorf("attach: %w", err)
	}
	defer conn.Close()
	if connected != nil {
		close(connected)
	}
	if tty && term.IsTerminal(int(st.Stdin.Fd())) {
		if old, err := term.MakeRaw(int(st.Stdin.Fd())); err == nil {
			defer term.Restore(int(st.Stdin.Fd()), old)
		}
		stopResize := relayResize(conn, st)
		defer stopResize()
	}
	detached := make(chan struct{})
	if stdin {
		go relayStdin(conn, st.Stdin, detached)
	}
	res, err := readOutput(conn, st)
	select {
	case <-detached:
		return AttachResult{Detached: true}, nil
	default:
	}
	if err != nil {
		return res, err
	}
	if res.Code < 0 {
		// The monitor went away without an exit frame: take the record's.
		if c, lerr := e.Lookup(id); lerr == nil {
			res.Code = c.State.ExitCode
		} else {
			res.Code = 0
		}
	}
	return res, nil
}

func readOutput(conn net.Conn, st Streams) (AttachResult, error) {
	buf := make([]byte, 32*1024)
	for {
		typ, p, err := readFrame(conn, buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, unix.ECONNRESET) {
				return AttachResult{Code: -1}, nil
			}
			return AttachResult{Code: -1}, nil
		}
		switch typ {
		case frameStdout:
			_, _ = st.Stdout.Write(p)
		case frameStderr:
			_, _ = st.Stderr.Write(p)
		case frameExit:
			if len(p) == 4 {
				return AttachResult{Code: int(int32(binary.BigEndian.Uint32(p)))}, nil
			}
		}
	}
}

// relayStdin sends the user's input, watching for the detach keys, which
// close the connection (the container keeps running).
func relayStdin(conn net.Conn, in *os.File, detached chan struct{}) {
	buf := make([]byte, 32*1024)
	matched := 0
	for {
		n, err := in.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+len(detachKeys))
			for _, b := range buf[:n] {
				if b == detachKeys[matched] {
					matched++
					if matched == len(detachKeys) {
						close(detached)
						conn.Close()
						return
					}
					continue
				}
				out = append(out, detachKeys[:matched]...)
				matched = 0
				out = append(out, b)
			}
			if len(out) > 0 {
				if writeFrame(conn, frameStdin, out) != nil {
					return
				}
			}
		}
		if err != nil {
			_ = writeFrame(conn, frameEOF, nil)
			return
		}
	}
}

// relayResize sends our terminal's size now and on every SIGWINCH.
func relayResize(conn net.Conn, st Streams) func() {
	send := func() {
		ws, err := unix.IoctlGetWinsize(int(st.Stdin.Fd()), unix.TIOCGWINSZ)
		if err != nil {
			return
		}
		var p [4]byte
		binary.BigEndian.PutUint16(p[0:2], ws.Row)
		binary.BigEndian.PutUint16(p[2:4], ws.Col)
		_ = writeFrame(conn, frameResize, p[:])
	}
	send()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGWINCH)
	go func() {
		for range ch {
			send()
		}
	}()
	return func() { signal.Stop(ch); close(ch) }
}

// RunAttached runs a container under its monitor with the caller attached
// (`run -t`): the detach keys leave it running.
func (e *Engine) RunAttached(ctx context.Context, o *RunOptions, st Streams) (AttachResult, error) {
	p, err := e.prepare(ctx, o)
	if err != nil {
		return AttachResult{}, err
	}
	res, err := e.startAndAttach(ctx, p.rec.ID, st, o.Tty, o.Interactive, true)
	if err != nil && !errors.Is(err, errMonitorStarted) {
		p.rollback()
	}
	return res, err
}

// StartAttached starts a stopped container with the caller attached
// (`start -a`).
func (e *Engine) StartAttached(ctx context.Context, ref string, st Streams, stdin bool) (AttachResult, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return AttachResult{}, err
	}
	if IsRunning(c) {
		return e.attachSession(ctx, c.ID, st, c.Tty, stdin && c.OpenStdin, nil)
	}
	if err := e.remountFor(c); err != nil {
		return AttachResult{}, err
	}
	if _, err := e.Containers.Update(c.ID, func(c *state.Container) error { c.ManuallyStopped = false; return nil }); err != nil {
		return AttachResult{}, err
	}
	res, err := e.startAndAttach(ctx, c.ID, st, c.Tty, stdin && c.OpenStdin, false)
	if err != nil && !errors.Is(err, errMonitorStarted) {
		_ = e.unmountRootfs(c) // no monitor took the container over
	}
	return res, err
}

// errMonitorStarted marks failures after the monitor took the container
// over: it cleans up, the caller must not.
var errMonitorStarted = errors.New("monitor started")

// startAndAttach launches the monitor holding the start, attaches, lets
// the container start and relays its streams until it exits or the user
// detaches.
func (e *Engine) startAndAttach(ctx context.Context, id string, st Streams, tty, stdin, fresh bool) (AttachResult, error) {
	d, closeSync, err := e.launchMonitor(ctx, id, true, fresh)
	if err != nil {
		return AttachResult{}, err
	}
	defer closeSync()
	if _, err := readSync(d, "was created"); err != nil {
		return AttachResult{}, fmt.Errorf("%w%.0w", err, errMonitorStarted)
	}
	// Signals sent to cocin reach the container, as with a foreground run.
	sigs := relaySignals(tty, func(s unix.Signal) { _ = e.Runtime.Kill(id, s, false) })
	defer signal.Stop(sigs)
	type result struct {
		r   AttachResult
		err error
	}
	done := make(chan result, 1)
	connected := make(chan struct{})
	go func() {
		r, err := e.attachSession(ctx, id, st, tty, stdin, connected)
		done <- result{r, err}
	}()
	select {
	case <-connected:
	case r := <-done:
		return r.r, fmt.Errorf("%w%.0w", r.err, errMonitorStarted)
	}
	if _, err := readSync(d, "started"); err != nil {
		return AttachResult{}, fmt.Errorf("%w%.0w", err, errMonitorStarted)
	}
	r := <-done
	return r.r, r.err
}

// Attach attaches to a running container; with sigProxy the signals sent
// to cocin reach the container's init (Docker's --sig-proxy, the default).
func (e *Engine) Attach(ctx context.Context, ref string, st Streams, noStdin, sigProxy bool) (AttachResult, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return AttachResult{}, err
	}
	if !IsRunning(c) {
		return AttachResult{}, fmt.Errorf("you cannot attach to a stopped container, start it first")
	}
	if sigProxy {
		sigs := relaySignals(c.Tty, func(s unix.Signal) { _ = e.Runtime.Kill(c.ID, s, false) })
		defer signal.Stop(sigs)
	}
	return e.attachSession(ctx, c.ID, st, c.Tty, c.OpenStdin && !noStdin, nil)
}
