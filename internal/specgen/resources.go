package specgen

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Limits are Docker's resource flags in Docker's units, named as in
// Docker's HostConfig so that inspect can show them as they are. Zero
// means "not set" everywhere, as in Docker.
type Limits struct {
	Memory            int64  `json:"Memory"`            // bytes
	MemorySwap        int64  `json:"MemorySwap"`        // memory+swap bytes; -1 unlimited
	MemoryReservation int64  `json:"MemoryReservation"` // soft limit, bytes
	OomKillDisable    bool   `json:"OomKillDisable"`
	NanoCpus          int64  `json:"NanoCpus"` // --cpus × 1e9
	CPUShares         int64  `json:"CpuShares"`
	CPUPeriod         int64  `json:"CpuPeriod"` // µs
	CPUQuota          int64  `json:"CpuQuota"`  // µs; -1 unlimited
	CpusetCpus        string `json:"CpusetCpus"`
	CpusetMems        string `json:"CpusetMems"`
	PidsLimit         int64  `json:"PidsLimit"` // -1 unlimited
	BlkioWeight       uint16 `json:"BlkioWeight"`
	// BlkioDeviceReadBps and BlkioDeviceWriteBps are --device-read-bps and
	// --device-write-bps.
	BlkioDeviceReadBps  []ThrottleDevice `json:"BlkioDeviceReadBps"`
	BlkioDeviceWriteBps []ThrottleDevice `json:"BlkioDeviceWriteBps"`
	// SwapDefaulted: MemorySwap is Docker's default (twice the memory),
	// not the user's, so a new memory limit moves it along (update -m).
	SwapDefaulted bool `json:"SwapDefaulted,omitempty"`
}

// ThrottleDevice is one PATH:RATE of --device-read-bps/--device-write-bps.
type ThrottleDevice struct {
	Path string `json:"Path"`
	Rate uint64 `json:"Rate"` // bytes per second
}

// IsZero reports whether no limit is set (the start path then skips
// probing the host).
func (l *Limits) IsZero() bool {
	return reflect.ValueOf(*l).IsZero()
}

// defaultCPUPeriod is the CFS period --cpus is expressed in (100 ms).
const defaultCPUPeriod = 100000

// Resources converts the limits to the runtime-spec's resources: only the
// parts that are set, so the result can also be handed to a cgroup update.
// Throttled devices are resolved to their device numbers here, at create.
func (l *Limits) Resources() (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{Memory: l.memory(), CPU: l.cpu()}
	if l.PidsLimit != 0 {
		r.Pids = &specs.LinuxPids{Limit: ptr(l.PidsLimit)}
	}
	b, err := l.blockIO()
	if err != nil {
		return nil, err
	}
	r.BlockIO = b
	return r, nil
}

func (l *Limits) memory() *specs.LinuxMemory {
	m := &specs.LinuxMemory{}
	if l.Memory > 0 {
		m.Limit = ptr(l.Memory)
	}
	if l.MemorySwap != 0 {
		m.Swap = ptr(l.MemorySwap)
	}
	if l.MemoryReservation > 0 {
		m.Reservation = ptr(l.MemoryReservation)
	}
	// Only a request to disable is passed on: cgroup v2 cannot disable the
	// OOM killer and refuses any value.
	if l.OomKillDisable {
		m.DisableOOMKiller = ptr(true)
	}
	if *m == (specs.LinuxMemory{}) {
		return nil
	}
	return m
}

func (l *Limits) cpu() *specs.LinuxCPU {
	c := &specs.LinuxCPU{Cpus: l.CpusetCpus, Mems: l.CpusetMems}
	if l.CPUShares > 0 {
		c.Shares = ptr(uint64(l.CPUShares))
	}
	switch {
	case l.NanoCpus > 0:
		// Docker's conversion: the quota of a 100 ms period.
		c.Period = ptr(uint64(defaultCPUPeriod))
		c.Quota = ptr(l.NanoCpus * defaultCPUPeriod / 1e9)
	default:
		if l.CPUPeriod > 0 {
			c.Period = ptr(uint64(l.CPUPeriod))
		}
		if l.CPUQuota != 0 {
			c.Quota = ptr(l.CPUQuota)
		}
	}
	if c.Shares == nil && c.Period == nil && c.Quota == nil && c.Cpus == "" && c.Mems == "" {
		return nil
	}
	return c
}

func (l *Limits) blockIO() (*specs.LinuxBlockIO, error) {
	if l.BlkioWeight == 0 && len(l.BlkioDeviceReadBps) == 0 && len(l.BlkioDeviceWriteBps) == 0 {
		return nil, nil
	}
	b := &specs.LinuxBlockIO{}
	if l.BlkioWeight != 0 {
		b.Weight = ptr(l.BlkioWeight)
	}
	var err error
	if b.ThrottleReadBpsDevice, err = throttleDevices(l.BlkioDeviceReadBps); err != nil {
		return nil, err
	}
	if b.ThrottleWriteBpsDevice, err = throttleDevices(l.BlkioDeviceWriteBps); err != nil {
		return nil, err
	}
	return b, nil
}

func throttleDevices(devs []ThrottleDevice) ([]specs.LinuxThrottleDevice, error) {
	var out []specs.LinuxThrottleDevice
	for _, d := range devs {
		major, minor, err := blockDevice(d.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, specs.LinuxThrottleDevice{
			LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: d.Rate,
		})
	}
	return out, nil
}

// blockDevice returns the device numbers of a block device node. It is a
// variable so that tests need no real disk.
var blockDevice = func(path string) (major, minor int64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, fmt.Errorf("device %s: %w", path, os.NewSyscallError("stat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, fmt.Errorf("device %s: not a block device", path)
	}
	return int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev)), nil
}

// ApplyLimits puts the limits into the spec's resources, keeping what is
// already there (the device rules).
func ApplyLimits(spec *specs.Spec, l *Limits) error {
	r, err := l.Resources()
	if err != nil {
		return err
	}
	res := spec.Linux.Resources
	res.Memory, res.CPU, res.Pids, res.BlockIO = r.Memory, r.CPU, r.Pids, r.BlockIO
	return nil
}

// ParseCPUList parses a cpuset list ("0-2,4") into its members.
func ParseCPUList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("invalid list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid list %q", s)
			}
		}
		if b-a > 1<<16 {
			return nil, fmt.Errorf("invalid list %q: range too large", s)
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}
