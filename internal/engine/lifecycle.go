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
	"golang.org/x/sys/unix"
)

// RunDetached creates a container and starts it under its own monitor; it
// returns the ID once the command runs (`run -d`).
func (e *Engine) RunDetached(ctx context.Context, o *RunOptions) (string, error) {
	p, err := e.prepare(ctx, o)
	if err != nil {
		return "", err
	}
	if err := e.startMonitor(p.rec.ID, false, true); err != nil {
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
	return p.rec.ID, nil
}

// startMonitor launches the monitor and waits until the container runs.
// On failure the monitor has already removed what it made.
func (e *Engine) startMonitor(id string, waitAttach, fresh bool) error {
	d, closeSync, err := e.launchMonitor(id, waitAttach, fresh)
	if err != nil {
		return err
	}
	defer closeSync()
	if _, err := readSync(d, "was created"); err != nil {
		return err
	}
	if _, err = readSync(d, "started"); err != nil {
		return err
	}
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
// state, mount, directories, record, name.
func (e *Engine) removeContainer(c *state.Container) error {
	if err := e.Runtime.Delete(c.ID, true); err != nil && !errors.Is(err, runtime.ErrNotExist) {
		return err
	}
	e.detachNetwork(c.ID)
	if err := layer.UnmountRootfs(c.Dir); err != nil {
		return err
	}
	e.releaseCgroup(c)
	_ = os.Remove(e.attachSocketPath(c.ID))
	if err := e.Containers.Delete(c); err != nil {
		return err
	}
	if c.AutoRemove {
		e.removeAnonymousVolumes(c)
	}
	e.emit(c, "destroy", nil)
	e.releaseIdle()
	return nil
}

// Lookup resolves a name, ID or unique ID prefix and repairs the record if
// the process that owned the container died without recording its end.
func (e *Engine) Lookup(ref string) (*state.Container, error) {
	c, err := e.Containers.Resolve(ref)
	if err != nil {
		return nil, err
	}
	return e.refresh(c), nil
}

// refresh makes a record true: a container marked running whose owner
// (monitor or foreground run) is gone is running only if its init still
// lives; otherwise it exited, with an unknown code, and its mount and
// cgroup are released. After a reboot /run is empty and every such
// container is found exited.
func (e *Engine) refresh(c *state.Container) *state.Container {
	switch c.State.Status {
	case state.Running, state.Paused, state.Restarting:
	default:
		return c
	}
	if runtime.ProcessAlive(c.Owner, c.OwnerStart) {
		return c
	}
	if st, err := e.Runtime.State(c.ID); err == nil && st.Pid > 0 {
		return c
	}
	unlock, err := e.Containers.Lock(c.ID)
	if err != nil {
		return c
	}
	defer unlock()
	cur, err := e.Containers.Get(c.ID)
	if err != nil || cur.State.Status != c.State.Status || runtime.ProcessAlive(cur.Owner, cur.OwnerStart) {
		if err == nil {
			return cur
		}
		return c
	}
	_ = e.Runtime.Delete(c.ID, true)
	e.detachNetwork(c.ID)
	_ = layer.UnmountRootfs(c.Dir)
	e.releaseCgroup(c)
	cur.State.Status = state.Exited
	cur.State.Pid = 0
	cur.State.ExitCode = 255
	cur.State.Error = "the container's monitor died; exit status unknown"
	cur.State.FinishedAt = time.Now().UTC()
	cur.Owner, cur.OwnerStart = 0, 0
	_ = e.Containers.Write(cur)
	return cur
}

// List returns every container, refreshed.
func (e *Engine) List() ([]*state.Container, error) {
	cs, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	for i, c := range cs {
		cs[i] = e.refresh(c)
	}
	return cs, nil
}

// IsRunning reports whether the container's process lives.
func IsRunning(c *state.Container) bool {
	return c.State.Status == state.Running || c.State.Status == state.Paused || c.State.Status == state.Restarting
}

// Start starts a created or exited container under a new monitor.
func (e *Engine) Start(ref string) (*state.Container, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if IsRunning(c) {
		return c, nil
	}
	if err := e.remountFor(c); err != nil {
		return nil, err
	}
	if _, err := e.Containers.Update(c.ID, func(c *state.Container) error {
		c.ManuallyStopped = false
		return nil
	}); err != nil {
		return nil, err
	}
	if err := e.startMonitor(c.ID, false, false); err != nil {
		// The monitor undid its part, or never started: release the mount.
		_ = e.unmountRootfs(c)
		return nil, err
	}
	return e.Containers.Get(c.ID)
}

func (e *Engine) remountFor(c *state.Container) error {
	img, err := e.Images.Get(c.ImageID)
	if err != nil {
		return fmt.Errorf("image of container %s: %w", c.Name, err)
	}
	_, err = e.mountRootfs(img, c.Dir, c.AutoRemove)
	return err
}

// StopOptions are `stop`'s flags.
type StopOptions struct {
	Timeout *int // seconds; nil: 10
	Signal  string
}

// Stop sends the stop signal, waits for the timeout, then kills. The
// restart policy is suspended until the next start.
func (e *Engine) Stop(ref string, o StopOptions) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	c, err = e.Containers.Update(c.ID, func(c *state.Container) error {
		c.ManuallyStopped = true
		// In its restart back-off nothing runs: it is stopped now (the
		// monitor, waking, sees ManuallyStopped and exits).
		if c.State.Status == state.Restarting {
			c.State.Status = state.Exited
			c.Owner, c.OwnerStart = 0, 0
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !IsRunning(c) {
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
	if o.Timeout != nil {
		timeout = time.Duration(*o.Timeout) * time.Second
	}
	if err := e.stopProcess(c, sig, timeout); err != nil {
		return err
	}
	e.emit(c, "stop", nil)
	return nil
}

func (e *Engine) stopProcess(c *state.Container, sig unix.Signal, timeout time.Duration) error {
	// A monitor sleeping out a restart back-off is woken to see the stop
	// now, rather than up to a minute later.
	if c.State.Status == state.Restarting && runtime.ProcessAlive(c.Owner, c.OwnerStart) {
		_ = runtime.SignalProcess(c.Owner, c.OwnerStart, unix.SIGUSR1)
	}
	st, err := e.Runtime.State(c.ID)
	if err == nil && st.Pid > 0 {
		if st.Status == "paused" {
			_ = e.Unpause(c.ID)
		}
		if timeout != 0 {
			_ = e.Runtime.Kill(c.ID, sig, false)
		}
		if timeout == 0 || !runtime.WaitPidExit(st.Pid, timeout) {
			_ = e.Runtime.Kill(c.ID, unix.SIGKILL, true)
			runtime.WaitPidExit(st.Pid, 5*time.Second)
		}
	}
	e.waitRecorded(c)
	return nil
}

// waitRecorded waits for the owner to record the exit (it exits right
// after, unless the restart policy restarts the container), then repairs
// the record if the owner is gone without doing so.
func (e *Engine) waitRecorded(c *state.Container) {
	if c.Owner > 0 {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			cur, err := e.Containers.Get(c.ID)
			if err != nil || !IsRunning(cur) || cur.State.Status == state.Restarting {
				return
			}
			runtime.WaitPidExit(c.Owner, 50*time.Millisecond)
		}
	}
	e.refresh(c)
}

// Kill sends a signal to the container's init.
func (e *Engine) Kill(ref, signal string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if !IsRunning(c) {
		return fmt.Errorf("cannot kill container %s: container is not running", ref)
	}
	sig, err := ParseSignal(signal, unix.SIGKILL)
	if err != nil {
		return err
	}
	if err := e.Runtime.Kill(c.ID, sig, false); err != nil {
		return err
	}
	e.emit(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	return nil
}

// RemoveOptions are `rm`'s flags.
type RemoveOptions struct {
	Force   bool
	Volumes bool
}

// Remove deletes a container; a running one needs Force (and is killed).
func (e *Engine) Remove(ref string, o RemoveOptions) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if IsRunning(c) {
		if !o.Force {
			return fmt.Errorf("cannot remove container %s: container is running: stop the container before removing or force remove", ref)
		}
		_, _ = e.Containers.Update(c.ID, func(c *state.Container) error { c.ManuallyStopped = true; c.AutoRemove = false; return nil })
		if err := e.stopProcess(c, unix.SIGKILL, 0); err != nil {
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
	if IsRunning(cur) && cur.State.Status != state.Restarting {
		return fmt.Errorf("cannot remove container %s: it was restarted while being removed", ref)
	}
	if err := e.removeContainer(cur); err != nil {
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
	for IsRunning(c) {
		if c.Owner > 0 {
			runtime.WaitPidExit(c.Owner, 200*time.Millisecond)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		cur, err := e.Containers.Get(c.ID)
		if err != nil {
			// Removed (--rm) after it exited: its die event has the code.
			code, _ := e.exitFromEvents(c.ID, c.State.StartedAt.Add(-time.Second))
			return code, nil
		}
		c = e.refresh(cur)
	}
	return c.State.ExitCode, nil
}

// Pause freezes every process of the container.
func (e *Engine) Pause(ref string) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if c.State.Status != state.Running {
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
	if err := state.ValidateName(name); err != nil {
		return err
	}
	if err := e.Containers.ReserveName(name, c.ID); err != nil {
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
