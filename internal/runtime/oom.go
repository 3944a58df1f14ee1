package runtime

// OOMKilled reports whether the kernel's OOM killer acted in container id's
// cgroup, for a monitor that no longer holds the Container (it handed the
// container's run to the C loop and came back).
func (r *Runtime) OOMKilled(id string) (bool, error) {
	cg, err := r.cgroupOf(id)
	if err != nil {
		return false, err
	}
	return cg.OOMKilled()
}
