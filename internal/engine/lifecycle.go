package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	"golang.org/x/sys/unix"
)

// RunDetached creates a container and starts it under its own monitor; it
// returns the ID once the command runs (`run -d`).
func (e *Engine) RunDetached(ctx context.Context, o *RunOptions) (string, error) {
	p, err := e.prepare(ctx, o)
	if err != nil {
		return "", err
	}
	if err := e.startMonitor(ctx, p.rec.ID, false, true); err != nil {
		p.rollback()
		return "", err
	}
	return p.rec.ID, nil
}

// Create makes a container without starting it (`create`). Its rootfs is
// mounted again at start.
func (e *Engine) Create(ctx context.Context, o *RunOptions) (string, error) {
	p, err := e.prepare(ctx, o)
	if err != nil {
		return "", err
	}
	if err := e.unmountRootfs(p.rec); err != nil {
		p.rollback()
		return "", err
	}
	if _, err := e.Containers.Update(p.rec.ID, func(c *state.Container) error {
		c.Owner, c.OwnerStart = 0, 0
		return nil
	}); err != nil {
		p.rollback()
		return "", err
	}
	return p.rec.ID, nil
}

// startMonitor launches the monitor and waits until the container runs.
// On failure the monitor has already removed what it made.
func (e *Engine) startMonitor(ctx context.Context, id string, waitAttach, fresh bool) error {
	ctx, end := trace.Step(ctx, "start monitor, wait for the container to run")
	defer end()
	d, closeSync, err := e.launchMonitor(ctx, id, waitAttach, fresh)
	if err != nil {
		return err
	}
	defer closeSync()
	if _, err := readSync(d, "was created"); err != nil {
		return err
	}
	started, err := readSync(d, "started")
	if err != nil {
		return err
	}
	trace.FromContext(ctx).Add(started.Steps)
	// The monitor closes the pipe once settled (in the C loop, named).
	var rest syncMsg
	_ = d.Decode(&rest)
	return nil
}

// unmountRootfs releases a container's overlay mount; its upper layer
// stays for a later start, commit or diff.
func (e *Engine) unmountRootfs(c *state.Container) error {
	return layer.UnmountRootfs(c.Dir)
}

// removeContainer deletes everything a stopped container has: runtime
// state, network, mount, cgroup, directories, record, name.
func (e *Engine) removeContainer(ctx context.Context, c *state.Container) error {
	_, end := trace.Step(ctx, "delete runtime state")
	err := e.Runtime.Delete(c.ID, true)
	end()
	if err != nil && !errors.Is(err, runtime.ErrNotExist) {
		return err
	}
	_, end = trace.Step(ctx, "detach network")
	e.detachNetwork(c.ID)
	end()
	_, end = trace.Step(ctx, "unmount rootfs")
	err = layer.UnmountRootfs(c.Dir)
	end()
	if err != nil {
		return err
	}
	_, end = trace.Step(ctx, "remove cgroup")
	e.releaseCgroup(c)
	end()
	_ = os.Remove(e.attachSocketPath(c.ID))
	_, end = trace.Step(ctx, "remove directory and record")
	err = e.Containers.Delete(c)
	end()
	if err != nil {
		return err
	}
	if c.AutoRemove {
		e.removeAnonymousVolumes(c)
	}
	e.emit(c, "destroy", nil)
	_, end = trace.Step(ctx, "release idle bridge, table, cgroup parent")
	e.releaseIdle()
	end()
	return nil
}

// Lookup resolves a name, ID or unique ID prefix and repairs the record if
// the process that owned the container died without recording its end.
func (e *Engine) Lookup(ref string) (*state.Container, error) {
	c, err := e.Containers.Resolve(ref)
	if err != nil {
		return nil, err
	}
	if c = e.refresh(c); c == nil {
		return nil, fmt.Errorf("%w: %s", state.ErrNotFound, ref)
	}
	return c, nil
}

// owned reports whether the record names a process that must be alive for
// it to be true: the monitor or foreground run of a running, paused or
// restarting container, or the command that is starting a stopped one.
func owned(c *state.Container) bool { return IsRunning(c) || starting(c) }

// starting reports whether a command (foreground run or monitor) is
// starting the created or exited container: it claimed the record.
func starting(c *state.Container) bool { return !IsRunning(c) && c.Owner > 0 }

// claim records the calling process as the one starting container id, so
// that its death before the start is recorded can be repaired.
func (e *Engine) claim(id string) error {
	me, err := self()
	if err != nil {
		return err
	}
	_, err = e.Containers.Update(id, func(c *state.Container) error {
		c.Owner, c.OwnerStart = me.pid, me.start
		return nil
	})
	return err
}

// refresh makes a record true. A container whose owner (monitor or
// foreground run) is gone runs only if its init still lives and it was
// recorded running; otherwise its runtime side, mount and cgroup are
// released and it is marked exited with an unknown code (a created one
// whose init never ran stays created), and a --rm one is removed: then
// refresh returns nil. After a reboot /run is empty and every such
// container is found exited.
func (e *Engine) refresh(c *state.Container) *state.Container {
	if !owned(c) || runtime.ProcessAlive(c.Owner, c.OwnerStart) {
		return c
	}
	st, stErr := e.Runtime.State(c.ID)
	if IsRunning(c) && stErr == nil && st.Pid > 0 {
		return c
	}
	unlock, err := e.Containers.Lock(c.ID)
	if err != nil {
		return c
	}
	cur, err := e.Containers.Get(c.ID)
	if err != nil || cur.State.Status != c.State.Status || cur.Owner != c.Owner || runtime.ProcessAlive(cur.Owner, cur.OwnerStart) {
		unlock()
		if err != nil {
			return nil
		}
		return cur
	}
	ran := IsRunning(cur) || (stErr == nil && st.Status != "created")
	cur = e.repair(cur, ran)
	unlock()
	if !cur.AutoRemove {
		return cur
	}
	// --rm: the command that would have removed it is gone.
	if err := e.Remove(context.Background(), cur.ID, RemoveOptions{}); err != nil {
		return cur
	}
	return nil
}

// repair releases what the dead owner held and records the end: exited
// with code 255 if the container ran; if it never did, its status stays.
// The caller holds the container's lock.
func (e *Engine) repair(cur *state.Container, ran bool) *state.Container {
	_ = e.Runtime.Delete(cur.ID, true)
	e.detachNetwork(cur.ID)
	_ = layer.UnmountRootfs(cur.Dir)
	e.releaseCgroup(cur)
	cur.Owner, cur.OwnerStart = 0, 0
	cur.State.Pid = 0
	if !ran {
		_ = e.Containers.Write(cur)
		return cur
	}
	cur.State.Status = state.Exited
	cur.State.ExitCode = 255
	cur.State.Error = "its monitor (or foreground cocin run) died; exit status unknown"
	cur.State.FinishedAt = time.Now().UTC()
	_ = e.Containers.Write(cur)
	e.emit(cur, "die", map[string]string{"exitCode": "255"})
	return cur
}

// List returns every container, refreshed.
func (e *Engine) List() ([]*state.Container, error) {
	cs, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	live := cs[:0]
	for _, c := range cs {
		if c = e.refresh(c); c != nil {
			live = append(live, c)
		}
	}
	return live, nil
}

// IsRunning reports whether the container's process lives.
func IsRunning(c *state.Container) bool {
	return c.State.Status == state.Running || c.State.Status == state.Paused || c.State.Status == state.Restarting
}

// Start starts a created or exited container under a new monitor.
func (e *Engine) Start(ctx context.Context, ref string) (*state.Container, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	// Claimed under the record's lock: of two starts at once, one starts
	// the container and the other waits for it, as with Docker.
	me, err := self()
	if err != nil {
		return nil, err
	}
	busy := false
	c, err = e.Containers.Update(c.ID, func(c *state.Container) error {
		if busy = IsRunning(c) || starting(c); !busy {
			c.ManuallyStopped = false
			c.Owner, c.OwnerStart = me.pid, me.start
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if busy {
		if c = e.settled(c); c == nil {
			return nil, fmt.Errorf("%w: %s", state.ErrNotFound, ref)
		}
		return c, nil
	}
	if err := e.remountFor(c); err != nil {
		e.letGo(c.ID)
		return nil, err
	}
	if err := e.startMonitor(ctx, c.ID, false, false); err != nil {
		// The monitor undid its part, or never started: release the
		// mount and the claim.
		_ = e.unmountRootfs(c)
		e.letGo(c.ID)
		return nil, err
	}
	return e.Containers.Get(c.ID)
}

// letGo clears the claim of this process on container id (a start that
// failed before the monitor took over).
func (e *Engine) letGo(id string) {
	me, _ := self()
	_, _ = e.Containers.Update(id, func(c *state.Container) error {
		if !IsRunning(c) && c.Owner == me.pid && c.OwnerStart == me.start {
			c.Owner, c.OwnerStart = 0, 0
		}
		return nil
	})
}

// settled waits (at most 10 s) until no command is starting c any more:
// the start ran it or failed. It returns the record then, nil if it is
// gone.
func (e *Engine) settled(c *state.Container) *state.Container {
	if !starting(c) {
		return c
	}
	cur := e.awaitRecord(c, func(cur *state.Container) bool { return !starting(cur) }, 10*time.Second)
	if cur == nil {
		return nil
	}
	return e.refresh(cur)
}

// stopManually marks the container stopped by its user (stop, kill, rm
// -f): its restart policy is off until the next start, and one in its
// restart back-off is stopped now, its sleeping monitor woken to exit.
func (e *Engine) stopManually(id string, also func(*state.Container)) (*state.Container, error) {
	var owner int
	var ownerStart uint64
	c, err := e.Containers.Update(id, func(c *state.Container) error {
		c.ManuallyStopped = true
		if c.State.Status == state.Restarting {
			owner, ownerStart = c.Owner, c.OwnerStart
			c.State.Status = state.Exited
			c.Owner, c.OwnerStart = 0, 0
		}
		if also != nil {
			also(c)
		}
		return nil
	})
	if owner > 0 {
		_ = runtime.SignalProcess(owner, ownerStart, unix.SIGUSR1)
	}
	return c, err
}

func (e *Engine) remountFor(c *state.Container) error {
	img, err := e.Images.Get(c.ImageID)
	if err != nil {
		return fmt.Errorf("image of container %s: %w", c.Name, err)
	}
	_, err = e.mountRootfs(img, c.Dir, c.AutoRemove)
	return err
}

// Restart stops the container if it runs, then starts it (`restart`).
func (e *Engine) Restart(ctx context.Context, ref string, o StopOptions) error {
	if err := e.Stop(ctx, ref, o); err != nil {
		return err
	}
	_, end := trace.Step(ctx, "start")
	c, err := e.Start(ctx, ref)
	end()
	if err != nil {
		return err
	}
	e.emit(c, "restart", nil)
	return nil
}

// StopOptions are `stop`'s flags.
type StopOptions struct {
	Timeout *int // seconds, -1: no limit; nil: the container's --stop-timeout, else 10
	Signal  string
}

// Stop sends the stop signal, waits for the timeout, then kills. The
// restart policy is suspended until the next start.
func (e *Engine) Stop(ctx context.Context, ref string, o StopOptions) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if c, err = e.stopManually(c.ID, nil); err != nil {
		return err
	}
	// A start under way is let finish, then stopped.
	if c = e.settled(c); c == nil || !IsRunning(c) {
		return nil
	}
	sigName := o.Signal
	if sigName == "" {
		sigName = c.StopSignal
	}
	sig, err := ParseSignal(sigName, unix.SIGTERM)
	if err != nil {
		return err
	}
	timeout := 10 * time.Second
	if o.Timeout == nil {
		o.Timeout = c.StopTimeout
	}
	if o.Timeout != nil {
		timeout = time.Duration(*o.Timeout) * time.Second
	}
	if err := e.stopProcess(ctx, c, sig, timeout); err != nil {
		return err
	}
	e.emit(c, "stop", nil)
	return nil
}

func (e *Engine) stopProcess(ctx context.Context, c *state.Container, sig unix.Signal, timeout time.Duration) error {
	st, err := e.Runtime.State(c.ID)
	if err == nil && st.Pid > 0 {
		if st.Status == "paused" {
			_ = e.Unpause(c.ID)
		}
		if timeout == 0 || !e.signalAndWait(ctx, c, st.Pid, sig, timeout) {
			e.signalAndWait(ctx, c, st.Pid, unix.SIGKILL, 5*time.Second)
		}
	}
	_, end := trace.Step(ctx, "wait for the exit to be recorded")
	e.waitRecorded(c)
	end()
	return nil
}

// signalAndWait sends sig (SIGKILL to every process of the container) and
// waits up to timeout for the init to exit.
func (e *Engine) signalAndWait(ctx context.Context, c *state.Container, pid int, sig unix.Signal, timeout time.Duration) bool {
	_, end := trace.Step(ctx, "send "+unix.SignalName(sig)+", wait for exit")
	defer end()
	if e.Runtime.Kill(c.ID, sig, sig == unix.SIGKILL) == nil {
		e.emit(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	}
	return runtime.WaitPidExit(pid, timeout)
}

// waitRecorded waits for the owner to record the exit (it exits right
// after, unless the restart policy restarts the container), then repairs
// the record if the owner is gone without doing so.
func (e *Engine) waitRecorded(c *state.Container) {
	if c.Owner > 0 {
		_ = e.awaitRecord(c, func(cur *state.Container) bool {
			return (!IsRunning(cur) && !starting(cur)) || cur.State.Status == state.Restarting
		}, 10*time.Second)
	}
	e.refresh(c)
}

// awaitRecord waits until done(record) holds, the record is gone, or the
// owner named in c dies without changing it (refresh then repairs), for
// at most timeout (negative: no limit). It wakes on each change of the
// record and on the owner's exit: no polling. It returns the last record
// read, nil if it is gone.
func (e *Engine) awaitRecord(c *state.Container, done func(*state.Container) bool, timeout time.Duration) *state.Container {
	w, err := e.Containers.Watch(c.ID)
	if err != nil {
		return nil
	}
	defer w.Close()
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		cur, err := e.Containers.Get(c.ID)
		if err != nil {
			return nil
		}
		if done(cur) || !runtime.ProcessAlive(cur.Owner, cur.OwnerStart) {
			return cur
		}
		left := time.Duration(-1)
		if !deadline.IsZero() {
			if left = time.Until(deadline); left <= 0 {
				return cur
			}
		}
		runtime.WaitPidExitOr(cur.Owner, w.Fd(), left)
		w.Drain()
	}
}

// Kill sends a signal to the container's init.
func (e *Engine) Kill(ctx context.Context, ref, signal string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	sig, err := ParseSignal(signal, unix.SIGKILL)
	if err != nil {
		return err
	}
	// A start under way is let finish, then killed.
	if c = e.settled(c); c == nil || !IsRunning(c) {
		return fmt.Errorf("cannot kill container %s: container is not running", ref)
	}
	// As Docker: a killed container is not restarted by its policy, and
	// one in its restart back-off just stays stopped.
	if c, err = e.stopManually(c.ID, nil); err != nil {
		return err
	}
	if !IsRunning(c) {
		e.emit(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
		return nil
	}
	_, end := trace.Step(ctx, "send "+unix.SignalName(sig))
	err = e.Runtime.Kill(c.ID, sig, false)
	end()
	if err != nil {
		return err
	}
	e.emit(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	if c.State.Status == state.Paused && sig == unix.SIGKILL {
		// A frozen process cannot die: thaw it, as Docker does (it stays
		// paused for other signals, which wait for unpause).
		if cg, err := e.cgroupOf(c); err == nil {
			_ = cg.Thaw()
		}
	}
	if sig == unix.SIGKILL {
		// As Docker: once kill returns, the container is recorded dead
		// (or restarting), so `kill X; rm X` and `kill X; start X` work.
		_, end = trace.Step(ctx, "wait for the exit to be recorded")
		e.waitRecorded(c)
		end()
	}
	return nil
}

// RemoveOptions are `rm`'s flags.
type RemoveOptions struct {
	Force   bool
	Volumes bool
}

// Remove deletes a container; a running one needs Force (and is killed).
func (e *Engine) Remove(ctx context.Context, ref string, o RemoveOptions) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if IsRunning(c) || starting(c) {
		if !o.Force {
			return fmt.Errorf("cannot remove container %s: container is running: stop the container before removing or force remove", ref)
		}
		c, err = e.stopManually(c.ID, func(c *state.Container) { c.AutoRemove = false })
		if err != nil {
			return err
		}
		if c = e.settled(c); c == nil {
			return fmt.Errorf("%w: %s", state.ErrNotFound, ref)
		}
		if err := e.stopProcess(ctx, c, unix.SIGKILL, 0); err != nil {
			return err
		}
	}
	unlock, err := e.Containers.Lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := e.Containers.Get(c.ID)
	if err != nil {
		return err
	}
	// Restarting: in its back-off; the monitor checks ManuallyStopped under
	// this lock before it mounts again, so removing now is safe.
	if (IsRunning(cur) && cur.State.Status != state.Restarting) || starting(cur) {
		return fmt.Errorf("cannot remove container %s: it was restarted while being removed", ref)
	}
	if err := e.removeContainer(ctx, cur); err != nil {
		return err
	}
	if o.Volumes {
		e.removeAnonymousVolumes(cur)
	}
	return nil
}

// Wait blocks until the container stops and returns its exit code.
func (e *Engine) Wait(ctx context.Context, ref string) (int, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return 0, err
	}
	for IsRunning(c) || starting(c) {
		cur := e.awaitRecord(c, func(cur *state.Container) bool {
			return ctx.Err() != nil || (!IsRunning(cur) && !starting(cur))
		}, -1)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if cur != nil {
			cur = e.refresh(cur)
		}
		if cur == nil {
			// Removed (--rm) after it exited: its die event has the code.
			code, _ := e.exitFromEvents(c.ID, c.Created.Add(-time.Second))
			return code, nil
		}
		if IsRunning(cur) && !runtime.ProcessAlive(cur.Owner, cur.OwnerStart) {
			// Its monitor died but it runs on: its end is seen only
			// as its init's exit (refresh then records it).
			runtime.WaitPidExit(cur.State.Pid, -1)
		}
		c = cur
	}
	return c.State.ExitCode, nil
}

// Pause freezes every process of the container.
func (e *Engine) Pause(ref string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if c = e.settled(c); c == nil {
		return fmt.Errorf("%w: %s", state.ErrNotFound, ref)
	}
	switch c.State.Status {
	case state.Paused:
		return fmt.Errorf("container %s is already paused", ref)
	case state.Restarting:
		return fmt.Errorf("container %s is restarting, wait until the container is running", ref)
	case state.Running:
	default:
		return fmt.Errorf("container %s is not running", ref)
	}
	cg, err := e.cgroupOf(c)
	if err != nil {
		return err
	}
	if err := cg.Freeze(); err != nil {
		return err
	}
	e.setStatus(c.ID, state.Paused)
	e.emit(c, "pause", nil)
	return nil
}

// Unpause thaws a paused container.
func (e *Engine) Unpause(ref string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if c.State.Status != state.Paused {
		return fmt.Errorf("container %s is not paused", ref)
	}
	cg, err := e.cgroupOf(c)
	if err != nil {
		return err
	}
	if err := cg.Thaw(); err != nil {
		return err
	}
	e.setStatus(c.ID, state.Running)
	e.emit(c, "unpause", nil)
	return nil
}

// Rename changes a container's name.
func (e *Engine) Rename(ref, name string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("neither old nor new names may be empty")
	}
	if _, err := e.reserveName(name, c.ID); err != nil {
		return err
	}
	old := c.Name
	if _, err := e.Containers.Update(c.ID, func(c *state.Container) error { c.Name = name; return nil }); err != nil {
		e.Containers.ReleaseName(name, c.ID)
		return err
	}
	e.Containers.ReleaseName(old, c.ID)
	c.Name = name // Docker's rename event names the container by its new name
	e.emit(c, "rename", map[string]string{"oldName": old, "name": name})
	return nil
}

// ParseSignal accepts "TERM", "SIGTERM", "15"; "" gives def.
func ParseSignal(s string, def unix.Signal) (unix.Signal, error) {
	if s == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal: %s", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("invalid signal: %s", s)
	}
	return sig, nil
}
