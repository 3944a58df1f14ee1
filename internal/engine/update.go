package engine

import (
	"fmt"

	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
)

// Update changes a container's resource limits: change edits a copy of
// the current ones. A running container's cgroup is updated at once; the
// record keeps the new limits for inspect and later starts. Nothing is
// recorded when the kernel refuses a value.
func (e *Engine) Update(ref string, change func(*specgen.Limits)) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	h, err := probeHost()
	if err != nil {
		return err
	}
	_, err = e.Containers.Update(c.ID, func(cur *state.Container) error {
		old := limitsOf(cur)
		l := old
		change(&l)
		rescaleDefaultSwap(old, &l)
		if err := l.Check(h); err != nil {
			return err
		}
		if IsRunning(e.refreshLocked(cur)) {
			if err := e.applyLimits(cur, &l); err != nil {
				return err
			}
		}
		return setLimits(cur, l)
	})
	return err
}

// rescaleDefaultSwap keeps Docker's default memory+swap (twice the memory
// limit) following a new memory limit unless swap was set explicitly (then
// or now).
func rescaleDefaultSwap(old specgen.Limits, l *specgen.Limits) {
	if l.MemorySwap != old.MemorySwap {
		l.SwapDefaulted = false // set by this update
		return
	}
	if l.Memory != old.Memory && old.SwapDefaulted {
		l.MemorySwap, l.SwapDefaulted = 0, false // Check sets the default again
	}
}

// refreshLocked tells whether the record still describes a live process;
// the caller holds the record's lock, so refresh (which locks) is not used.
func (e *Engine) refreshLocked(c *state.Container) *state.Container {
	if !IsRunning(c) {
		return c
	}
	if st, err := e.Runtime.State(c.ID); err == nil && st.Pid > 0 {
		return c
	}
	cp := *c
	cp.State.Status = state.Exited
	return &cp
}

func (e *Engine) applyLimits(c *state.Container, l *specgen.Limits) error {
	res, err := l.Resources()
	if err != nil {
		return err
	}
	cg, err := e.cgroupOf(c)
	if err != nil {
		return err
	}
	if err := cg.Update(res); err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	return nil
}
