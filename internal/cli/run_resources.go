package cli

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/docker/go-units"
	"github.com/spf13/pflag"
)

// addResourcesFlags adds Docker's resource limit flags to run and create.
func addResourcesFlags(f *pflag.FlagSet, o *engine.RunOptions) {
	l := &o.Resources
	addLimitFlags(f, l)
	f.BoolVar(&l.OomKillDisable, "oom-kill-disable", false, "disable the OOM killer (cgroup v1 only)")
	f.Var(&throttleList{&l.BlkioDeviceReadBps}, "device-read-bps", "limit read rate (bytes per second) from a device, PATH:RATE[unit]")
	f.Var(&throttleList{&l.BlkioDeviceWriteBps}, "device-write-bps", "limit write rate (bytes per second) to a device, PATH:RATE[unit]")
}

// addLimitFlags are the flags run and update share.
func addLimitFlags(f *pflag.FlagSet, l *specgen.Limits) {
	f.VarP((*memBytes)(&l.Memory), "memory", "m", "memory limit")
	f.Var((*swapBytes)(&l.MemorySwap), "memory-swap", "memory+swap limit: a size, or -1 for unlimited swap")
	f.Var((*memBytes)(&l.MemoryReservation), "memory-reservation", "memory soft limit")
	f.Var((*nanoCPUs)(&l.NanoCpus), "cpus", "number of CPUs")
	f.Int64VarP(&l.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&l.CPUPeriod, "cpu-period", 0, "limit the CPU CFS period (µs)")
	f.Int64Var(&l.CPUQuota, "cpu-quota", 0, "limit the CPU CFS quota (µs)")
	f.StringVar(&l.CpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&l.CpusetMems, "cpuset-mems", "", "memory nodes in which to allow execution (0-3, 0,1)")
	f.Int64Var(&l.PidsLimit, "pids-limit", 0, "tune the container's pids limit (-1 for unlimited)")
	f.Uint16Var(&l.BlkioWeight, "blkio-weight", 0, "block IO relative weight, 10 to 1000, or 0 to disable")
}

// memBytes is a size with Docker's units ("32m", "1g", "512k").
type memBytes int64

func (m *memBytes) Set(s string) error {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*m = memBytes(n)
	return nil
}

func (m *memBytes) String() string {
	if *m == 0 {
		return ""
	}
	return units.BytesSize(float64(*m))
}

func (m *memBytes) Type() string { return "bytes" }

// swapBytes is a size, or -1 for unlimited swap.
type swapBytes int64

func (m *swapBytes) Set(s string) error {
	if s == "-1" {
		*m = -1
		return nil
	}
	return (*memBytes)(m).Set(s)
}

func (m *swapBytes) String() string { return (*memBytes)(m).String() }

func (m *swapBytes) Type() string { return "bytes" }

// nanoCPUs is a decimal number of CPUs kept in billionths, as Docker does.
type nanoCPUs int64

func (n *nanoCPUs) Set(s string) error {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return fmt.Errorf("failed to parse %q as a rational number", s)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return fmt.Errorf("value is too precise")
	}
	if nano.Sign() < 0 || !nano.Num().IsInt64() {
		return fmt.Errorf("value out of range")
	}
	*n = nanoCPUs(nano.Num().Int64())
	return nil
}

func (n *nanoCPUs) String() string {
	if *n == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(*n)/1e9, 'f', -1, 64)
}

func (n *nanoCPUs) Type() string { return "decimal" }

// throttleList collects PATH:RATE values.
type throttleList struct{ devs *[]specgen.ThrottleDevice }

func (t *throttleList) Set(s string) error {
	path, rate, ok := strings.Cut(s, ":")
	if !ok || !strings.HasPrefix(path, "/dev/") {
		return fmt.Errorf("bad format %q: want /dev/PATH:RATE", s)
	}
	n, err := units.RAMInBytes(rate)
	if err != nil {
		return fmt.Errorf("invalid rate for %s: %w", path, err)
	}
	*t.devs = append(*t.devs, specgen.ThrottleDevice{Path: path, Rate: uint64(n)})
	return nil
}

func (t *throttleList) String() string {
	var parts []string
	for _, d := range *t.devs {
		parts = append(parts, fmt.Sprintf("%s:%d", d.Path, d.Rate))
	}
	return strings.Join(parts, ",")
}

func (t *throttleList) Type() string { return "list" }
