package cgroups

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// FreezerState is the cgroup's freezer state, with v1's names.
type FreezerState string

const (
	Thawed   FreezerState = "THAWED"
	Freezing FreezerState = "FREEZING" // asked to freeze, not all tasks stopped yet
	Frozen   FreezerState = "FROZEN"
)

// freezeTimeout bounds the wait for every task to stop; a task stuck in
// an uninterruptible sleep can delay freezing indefinitely.
var freezeTimeout = 5 * time.Second

// Freeze stops every process in the cgroup and returns once all are frozen.
// If that does not happen in time the cgroup is thawed again and an error
// returned, so a container is never left half frozen.
func (c *Cgroup) Freeze() error {
	if err := c.freeze(true); err != nil {
		_ = c.freeze(false)
		return fmt.Errorf("cgroups: freeze %s/%s: %w", c.parent, c.name, err)
	}
	return nil
}

// Thaw resumes the processes of a frozen cgroup.
func (c *Cgroup) Thaw() error {
	if err := c.freeze(false); err != nil {
		return fmt.Errorf("cgroups: thaw %s/%s: %w", c.parent, c.name, err)
	}
	return nil
}

func (c *Cgroup) freeze(on bool) error {
	dir, err := c.dir("freezer")
	if err != nil {
		return err
	}
	want := map[bool]FreezerState{true: Frozen, false: Thawed}[on]
	file, value := "freezer.state", string(want)
	if c.fs.version == V2 {
		file, value = "cgroup.freeze", map[bool]string{true: "1", false: "0"}[on]
	}
	deadline := time.Now().Add(freezeTimeout)
	for i := 0; ; i++ {
		// v1 can fall back from FREEZING when a task forks meanwhile;
		// writing again every few rounds restarts the freeze (as runc).
		if i%10 == 0 {
			if err := writeFile(dir, file, value); err != nil {
				return err
			}
		}
		st, err := c.State()
		if err != nil {
			return err
		}
		if st == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still %s after %v", st, freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// State reads the freezer state: v1 freezer.state, v2 the "frozen" key of
// cgroup.events (cgroup.freeze only says what was asked).
func (c *Cgroup) State() (FreezerState, error) {
	dir, err := c.dir("freezer")
	if err != nil {
		return "", err
	}
	if c.fs.version == V1 {
		s, err := readFile(dir, "freezer.state")
		return FreezerState(s), err
	}
	ev, err := readKV(dir, "cgroup.events")
	if err != nil {
		return "", err
	}
	if ev["frozen"] == 1 {
		return Frozen, nil
	}
	asked, err := readFile(dir, "cgroup.freeze")
	if err != nil {
		return "", err
	}
	if asked == "1" {
		return Freezing, nil
	}
	return Thawed, nil
}

// Frozen reports whether the cgroup is completely frozen.
func (c *Cgroup) Frozen() (bool, error) {
	st, err := c.State()
	return st == Frozen, err
}

// Kill sends SIGKILL to every process in the cgroup. v2 kernels since 5.14
// do it atomically through cgroup.kill; otherwise the cgroup is frozen
// first so no process can fork a child we would miss, each member is
// killed, and the cgroup is thawed so the signals are delivered. It does
// not wait for the processes to exit; Destroy retries while they do.
func (c *Cgroup) Kill() error {
	if c.fs.version == V2 && exists(c.paths[""], "cgroup.kill") {
		if err := writeFile(c.paths[""], "cgroup.kill", "1"); err != nil {
			return fmt.Errorf("cgroups: kill %s/%s: %w", c.parent, c.name, err)
		}
		return nil
	}
	if err := c.killEach(); err != nil {
		return fmt.Errorf("cgroups: kill %s/%s: %w", c.parent, c.name, err)
	}
	return nil
}

func (c *Cgroup) killEach() error {
	// An empty cgroup (the usual case once a container's init has exited)
	// needs no freeze/thaw cycle, which costs milliseconds on v1.
	if pids, err := c.Procs(); err == nil && len(pids) == 0 {
		return nil
	}
	if _, err := c.dir("freezer"); err == nil {
		// A cgroup that cannot freeze (a task stuck in D state) is still
		// killed, only without the protection against forks.
		if err := c.Freeze(); err == nil {
			defer c.Thaw()
		}
	}
	pids, err := c.Procs()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		// A frozen member cannot exit and be reaped, so its pid cannot be
		// reused between the listing and the signal.
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}
