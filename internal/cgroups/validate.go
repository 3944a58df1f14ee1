package cgroups

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnsupported marks a requested resource this host or package cannot
// apply. It is an error, never a silent skip.
var ErrUnsupported = errors.New("not supported")

func unsupported(what string, v Version) error {
	return fmt.Errorf("%s: %w on cgroup %s", what, ErrUnsupported, v)
}

// validate rejects what can be judged without the kernel, so that most bad
// input fails before any directory exists.
func validate(v Version, r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	checks := []func(Version, *specs.LinuxResources) error{
		validateMemory, validateCPU, validateBlockIO, validateDevices, validateOther,
	}
	for _, check := range checks {
		if err := check(v, r); err != nil {
			return err
		}
	}
	return nil
}

func validateMemory(v Version, r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	for name, p := range map[string]*int64{"memory limit": m.Limit, "memory reservation": m.Reservation, "memory+swap limit": m.Swap} {
		if p != nil && *p < -1 {
			return fmt.Errorf("invalid %s %d", name, *p)
		}
	}
	limit, swap := deref(m.Limit), deref(m.Swap)
	if limit > 0 && swap > 0 && swap < limit {
		return fmt.Errorf("memory+swap limit %d is below the memory limit %d", swap, limit)
	}
	if m.Swappiness != nil && *m.Swappiness > 100 {
		return fmt.Errorf("invalid memory swappiness %d (0..100)", *m.Swappiness)
	}
	if v == V2 {
		if _, err := swapToV2(swap, limit); err != nil {
			return err
		}
		if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
			return unsupported("disabling the OOM killer", v)
		}
		if m.Swappiness != nil {
			return unsupported("memory swappiness", v)
		}
		if m.KernelTCP != nil {
			return unsupported("kernel TCP memory limit", v)
		}
	}
	return nil
}

func validateCPU(v Version, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if c.Quota != nil && *c.Quota < -1 {
		return fmt.Errorf("invalid cpu quota %d", *c.Quota)
	}
	if v == V2 && (c.RealtimePeriod != nil || c.RealtimeRuntime != nil) {
		return unsupported("realtime cpu period/runtime", v)
	}
	return nil
}

func validateBlockIO(v Version, r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if b.LeafWeight != nil {
		return unsupported("blkio leaf weight (CFQ only)", v)
	}
	if err := checkWeight(b.Weight); err != nil {
		return err
	}
	for _, d := range b.WeightDevice {
		if d.LeafWeight != nil {
			return unsupported("blkio leaf weight (CFQ only)", v)
		}
		if err := checkWeight(d.Weight); err != nil {
			return err
		}
	}
	return nil
}

func checkWeight(w *uint16) error {
	if w != nil && *w != 0 && (*w < 10 || *w > 1000) {
		return fmt.Errorf("invalid blkio weight %d (10..1000)", *w)
	}
	return nil
}

func validateDevices(_ Version, r *specs.LinuxResources) error {
	for i, d := range r.Devices {
		if _, err := deviceRule(d); err != nil {
			return fmt.Errorf("device rule %d: %w", i, err)
		}
	}
	return nil
}

func validateOther(v Version, r *specs.LinuxResources) error {
	switch {
	case r.Network != nil && (r.Network.ClassID != nil || len(r.Network.Priorities) > 0):
		return unsupported("network class id/priorities", v)
	case len(r.Rdma) > 0:
		return unsupported("rdma limits", v)
	case len(r.Unified) > 0 && v == V1:
		return unsupported("unified (cgroup v2) resources", v)
	}
	for k := range r.Unified {
		if _, err := unifiedController(k); err != nil {
			return err
		}
	}
	return nil
}

// unifiedController checks a key of the spec's "unified" map (a file name in
// the container's v2 directory) and returns the controller it belongs to.
func unifiedController(key string) (string, error) {
	ctrl, _, ok := strings.Cut(key, ".")
	if !ok || ctrl == "" || strings.ContainsAny(key, "/\x00") || path.Clean(key) != key {
		return "", fmt.Errorf("invalid unified resource key %q", key)
	}
	if ctrl == "cgroup" {
		// cgroup.procs, cgroup.subtree_control… are ours to manage.
		return "", fmt.Errorf("unified resource key %q: cgroup.* files are managed by cocin", key)
	}
	return ctrl, nil
}

// neededControllers lists the controllers r writes to, sorted; on v1 these
// must be mounted, on v2 delegated to the parent.
func neededControllers(v Version, r *specs.LinuxResources) []string {
	if r == nil {
		return nil
	}
	set := map[string]bool{}
	if r.Memory != nil && memorySet(r.Memory) {
		set["memory"] = true
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil ||
			c.RealtimePeriod != nil || c.RealtimeRuntime != nil || c.Idle != nil {
			set["cpu"] = true
		}
		if c.Cpus != "" || c.Mems != "" {
			set["cpuset"] = true
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		set["pids"] = true
	}
	if len(r.HugepageLimits) > 0 {
		set["hugetlb"] = true
	}
	if r.BlockIO != nil {
		set[map[Version]string{V1: "blkio", V2: "io"}[v]] = true
	}
	if v == V1 && len(r.Devices) > 0 {
		set["devices"] = true
	}
	for k := range r.Unified {
		if c, err := unifiedController(k); err == nil {
			set[c] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// memorySet reports whether m asks for anything; the deprecated kernel
// limit is ignored as runc does (kernels since 5.4 no longer offer it).
func memorySet(m *specs.LinuxMemory) bool {
	return m.Limit != nil || m.Reservation != nil || m.Swap != nil || m.KernelTCP != nil ||
		m.Swappiness != nil || m.DisableOOMKiller != nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
