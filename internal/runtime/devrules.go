package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

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
