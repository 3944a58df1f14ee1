package runtime

import (
	"fmt"
	"time"

	"github.com/cocin-dev/cocin/internal/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Details is a container's state with what runc's `state` adds to the
// runtime-spec's: where its root is and when it was created.
type Details struct {
	specs.State
	Rootfs  string
	Created time.Time
}

// Describe returns the state of container id with its rootfs and creation
// time.
func (r *Runtime) Describe(id string) (*Details, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st, err := r.State(id)
	if err != nil {
		return nil, err
	}
	return &Details{State: *st, Rootfs: rec.Rootfs, Created: rec.Created}, nil
}

// cgroupOf loads container id's cgroup.
func (r *Runtime) cgroupOf(id string) (*cgroups.Cgroup, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return cgroups.Load(cgPath(rec.CgroupPath))
}

// runningCgroup is cgroupOf for operations that need a live container.
func (r *Runtime) runningCgroup(id string, op string) (*cgroups.Cgroup, error) {
	st, err := r.State(id)
	if err != nil {
		return nil, err
	}
	if st.Status == specs.StateStopped {
		return nil, fmt.Errorf("cannot %s container %s: container is not running", op, id)
	}
	return r.cgroupOf(id)
}

// Pause freezes every process of container id.
func (r *Runtime) Pause(id string) error {
	st, err := r.State(id)
	if err != nil {
		return err
	}
	if st.Status == StatusPaused {
		return fmt.Errorf("cannot pause container %s: container is already paused", id)
	}
	cg, err := r.runningCgroup(id, "pause")
	if err != nil {
		return err
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	st, err := r.State(id)
	if err != nil {
		return err
	}
	if st.Status != StatusPaused {
		return fmt.Errorf("cannot resume container %s: container is not paused", id)
	}
	cg, err := r.cgroupOf(id)
	if err != nil {
		return err
	}
	return cg.Thaw()
}

// Update changes the cgroup limits of container id.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	cg, err := r.runningCgroup(id, "update")
	if err != nil {
		return err
	}
	// New device rules get the standard nodes and the container's own
	// devices added, as at create: an update that repeats the config's
	// "deny all" (containerd's does) must not take /dev/null away.
	var devs []specs.LinuxDevice
	if spec, err := r.Spec(id); err == nil && spec.Linux != nil {
		devs = spec.Linux.Devices
	}
	return cg.Update(withDeviceRules(res, devs))
}

// Stats returns the cgroup usage of container id.
func (r *Runtime) Stats(id string) (*cgroups.Stats, error) {
	cg, err := r.runningCgroup(id, "get stats of")
	if err != nil {
		return nil, err
	}
	return cg.Stats()
}

// Procs lists the host PIDs in container id's cgroup.
func (r *Runtime) Procs(id string) ([]int, error) {
	cg, err := r.cgroupOf(id)
	if err != nil {
		return nil, err
	}
	return cg.Procs()
}
