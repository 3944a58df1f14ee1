package runtimecli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

func (a *app) pauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER_ID",
		Short: "Freeze every process of a container",
		Args:  cobra.ExactArgs(1),
		RunE:  func(_ *cobra.Command, args []string) error { return a.runtime().Pause(args[0]) },
	}
}

func (a *app) resumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume CONTAINER_ID",
		Short: "Thaw a paused container",
		Args:  cobra.ExactArgs(1),
		RunE:  func(_ *cobra.Command, args []string) error { return a.runtime().Resume(args[0]) },
	}
}

// updateFlags are runc update's single-value flags; --resources gives all.
type updateFlags struct {
	resources                         string
	memory, memorySwap, memoryReserve byteSize
	cpuQuota, cpuShares, pidsLimit    int64
	cpuPeriod                         uint64
	cpusetCpus, cpusetMems            string
}

// byteSize is a memory flag as runc takes it: bytes, a size with a unit
// (100M, 1G: powers of 1024), or -1 for unlimited.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "bytes" }
func (b *byteSize) Set(s string) error {
	if s == "-1" {
		*b = -1
		return nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (a *app) updateCommand() *cobra.Command {
	var o updateFlags
	cmd := &cobra.Command{
		Use:   "update [--resources FILE|-] [flags] CONTAINER_ID",
		Short: "Change a container's cgroup limits",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := o.build(cmd)
			if err != nil {
				return err
			}
			return a.runtime().Update(args[0], res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.resources, "resources", "r", "", "LinuxResources JSON file, - for stdin; other flags are ignored")
	f.Var(&o.memory, "memory", "memory limit in bytes (or 100M, 1G...)")
	f.Var(&o.memorySwap, "memory-swap", "memory+swap limit in bytes (or 100M, 1G...; -1: unlimited)")
	f.Var(&o.memoryReserve, "memory-reservation", "memory soft limit in bytes (or 100M, 1G...)")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "CFS quota in microseconds per period")
	f.Uint64Var(&o.cpuPeriod, "cpu-period", 0, "CFS period in microseconds")
	f.Int64Var(&o.cpuShares, "cpu-share", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "maximum number of processes")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs to run on (0-3,5)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "memory nodes to use")
	return cmd
}

func (o *updateFlags) build(cmd *cobra.Command) (*specs.LinuxResources, error) {
	if o.resources != "" {
		return readResources(o.resources)
	}
	res := &specs.LinuxResources{}
	set := cmd.Flags().Changed
	mem := &specs.LinuxMemory{}
	if set("memory") {
		mem.Limit = (*int64)(&o.memory)
	}
	if set("memory-swap") {
		mem.Swap = (*int64)(&o.memorySwap)
	}
	if set("memory-reservation") {
		mem.Reservation = (*int64)(&o.memoryReserve)
	}
	if *mem != (specs.LinuxMemory{}) {
		res.Memory = mem
	}
	cpu := &specs.LinuxCPU{Cpus: o.cpusetCpus, Mems: o.cpusetMems}
	if set("cpu-quota") {
		cpu.Quota = &o.cpuQuota
	}
	if set("cpu-period") {
		cpu.Period = &o.cpuPeriod
	}
	if set("cpu-share") {
		s := uint64(o.cpuShares)
		cpu.Shares = &s
	}
	if cpu.Quota != nil || cpu.Period != nil || cpu.Shares != nil || cpu.Cpus != "" || cpu.Mems != "" {
		res.CPU = cpu
	}
	if set("pids-limit") {
		res.Pids = &specs.LinuxPids{Limit: &o.pidsLimit}
	}
	return res, nil
}

func readResources(path string) (*specs.LinuxResources, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
		defer f.Close()
		r = f
	}
	var res specs.LinuxResources
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("update: parse resources: %w", err)
	}
	return &res, nil
}

func (a *app) eventsCommand() *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval D] CONTAINER_ID",
		Short: "Print a container's resource usage as JSON events",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("events: --interval must be positive")
			}
			return a.events(args[0], stats, interval)
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print one stats event and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "time between stats events")
	return cmd
}

// event is runc's events JSON line.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// events prints stats once (--stats) or every interval until the container
// stops, with an "oom" event when the OOM killer strikes.
func (a *app) events(id string, once bool, interval time.Duration) error {
	rt := a.runtime()
	enc := json.NewEncoder(a.stdout)
	var ooms uint64
	for {
		st, err := rt.Stats(id)
		if err != nil {
			if once {
				return err
			}
			return nil // the container stopped
		}
		if st.OOMKills > ooms && !once {
			ooms = st.OOMKills
			if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		if err := enc.Encode(event{Type: "stats", ID: id, Data: runcStats(st)}); err != nil {
			return err
		}
		if once {
			return nil
		}
		time.Sleep(interval)
	}
}

// runcStats shapes cgroup stats like runc's events "data".
func runcStats(s *cgroups.Stats) map[string]any {
	return map[string]any{
		"cpu": map[string]any{
			"usage":      map[string]uint64{"total": s.CPU.UsageNS, "user": s.CPU.UserNS, "kernel": s.CPU.SystemNS},
			"throttling": map[string]uint64{"throttledPeriods": s.CPU.ThrottledPeriods, "throttledTime": s.CPU.ThrottledNS},
		},
		"memory": map[string]any{
			"usage": map[string]uint64{"usage": s.Memory.Usage, "max": s.Memory.MaxUsage, "limit": s.Memory.Limit},
			"swap":  map[string]uint64{"usage": s.Memory.Swap, "limit": s.Memory.SwapLimit},
			"cache": s.Memory.Cache,
			"raw":   map[string]uint64{"inactive_file": s.Memory.InactiveFile},
		},
		"pids":  map[string]uint64{"current": s.Pids.Current, "limit": s.Pids.Limit},
		"blkio": map[string]uint64{"readBytes": s.BlkIO.ReadBytes, "writeBytes": s.BlkIO.WriteBytes},
	}
}
