package runtime

import (
	"github.com/cocin-dev/cocin/internal/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

// alwaysAllowed are the device rules runc adds to every device cgroup: the
// standard nodes and terminals a container needs to work at all.
var alwaysAllowed = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"}, // zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"}, // full
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"}, // random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"}, // urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"}, // tty
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"}, // console
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"}, // ptmx
	{Allow: true, Type: "c", Major: i64(136), Minor: nil, Access: "rwm"},  // pts/*
}

// withDeviceRules returns res with the standard nodes allowed after the
// spec's rules, and mknod ("m" only) of the spec's own devices, so that a
// config that denies all devices (as `spec` writes) can still create the
// nodes it lists; reading and writing them stays what the spec's rules say
// (`--device /dev/x:/dev/y:r` is read-only). A spec with no device rules
// is left alone: on cgroup v2 any rule installs a filter that denies what
// it does not name.
func withDeviceRules(res *specs.LinuxResources, devs []specs.LinuxDevice) *specs.LinuxResources {
	if res == nil || len(res.Devices) == 0 {
		return res
	}
	out := *res
	out.Devices = append(append([]specs.LinuxDeviceCgroup{}, res.Devices...), alwaysAllowed...)
	for _, d := range devs {
		typ := d.Type
		switch typ {
		case "u":
			typ = "c"
		case "p":
			continue // a FIFO is no device: the device cgroup does not govern it
		}
		out.Devices = append(out.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: i64(d.Major), Minor: i64(d.Minor), Access: "m"})
	}
	return &out
}

// withoutPidsLimit returns res with the pids limit lifted ("max"): the
// init is a Go program whose runtime starts threads while it sets the
// container up, and each counts against pids.max. The limit is applied by
// applyPidsLimit once the init is ready; its threads go at execve.
func withoutPidsLimit(res *specs.LinuxResources) *specs.LinuxResources {
	if res == nil || res.Pids == nil || res.Pids.Limit == nil || *res.Pids.Limit <= 0 {
		return res
	}
	out := *res
	out.Pids = &specs.LinuxPids{Limit: i64(-1)}
	return &out
}

// applyPidsLimit sets the spec's pids limit on the container's cgroup (a
// limit below what is in use only stops further forks).
func applyPidsLimit(cg *cgroups.Cgroup, spec *specs.Spec) error {
	if spec.Linux == nil || spec.Linux.Resources == nil || spec.Linux.Resources.Pids == nil ||
		spec.Linux.Resources.Pids.Limit == nil || *spec.Linux.Resources.Pids.Limit <= 0 {
		return nil
	}
	return cg.Update(&specs.LinuxResources{Pids: spec.Linux.Resources.Pids})
}
