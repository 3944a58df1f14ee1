package engine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/state"
)

// StatsSample is one reading of a container's usage.
type StatsSample struct {
	ID, Name   string
	Running    bool
	At         time.Time
	CPUNS      uint64 // total CPU time used
	MemUsage   uint64 // working set (usage minus inactive page cache)
	MemLimit   uint64 // the cgroup's limit, or the host's memory
	NetRx      uint64
	NetTx      uint64
	BlockRead  uint64
	BlockWrite uint64
	Pids       uint64
}

// CPUPercent is the CPU used between two samples, in % of one CPU (as
// docker stats: 200% is two busy CPUs).
func (s StatsSample) CPUPercent(prev StatsSample) float64 {
	wall := s.At.Sub(prev.At)
	if prev.At.IsZero() || wall <= 0 || s.CPUNS < prev.CPUNS {
		return 0
	}
	return float64(s.CPUNS-prev.CPUNS) / float64(wall.Nanoseconds()) * 100
}

// MemPercent is the usage in % of the limit.
func (s StatsSample) MemPercent() float64 {
	if s.MemLimit == 0 {
		return 0
	}
	return float64(s.MemUsage) / float64(s.MemLimit) * 100
}

// StatsTargets returns the containers `stats` shows: the named ones, or
// the running ones (all with all).
func (e *Engine) StatsTargets(refs []string, all bool) ([]*state.Container, error) {
	if len(refs) > 0 {
		out := make([]*state.Container, 0, len(refs))
		for _, r := range refs {
			c, err := e.Lookup(r)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	cs, err := e.List()
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if all || IsRunning(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Sample reads a container's usage from its cgroup and its network
// namespace. A container that is not running gives a zero sample.
func (e *Engine) Sample(c *state.Container) StatsSample {
	s := StatsSample{ID: c.ID, Name: c.Name, At: time.Now()}
	cur, err := e.Containers.Get(c.ID)
	if err != nil || !IsRunning(cur) {
		return s
	}
	cg, err := e.cgroupOf(cur)
	if err != nil {
		return s
	}
	st, err := cg.Stats()
	if err != nil {
		return s
	}
	s.Running = true
	s.CPUNS = st.CPU.UsageNS
	s.MemUsage, s.MemLimit = st.Memory.WorkingSet(), st.Memory.Limit
	if hm := hostMemory(); s.MemLimit == 0 || s.MemLimit > hm {
		s.MemLimit = hm
	}
	s.BlockRead, s.BlockWrite = st.BlkIO.ReadBytes, st.BlkIO.WriteBytes
	s.Pids = st.Pids.Current
	s.NetRx, s.NetTx = netIO(cur.State.Pid)
	return s
}

// netIO sums the container's interfaces but lo, read through its init's
// /proc entry, which shows the init's network namespace.
func netIO(pid int) (rx, tx uint64) {
	if pid <= 0 {
		return 0, 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		// receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ...
		fs := strings.Fields(rest)
		if len(fs) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(fs[0], 10, 64)
		t, _ := strconv.ParseUint(fs[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

// hostMemory is MemTotal, what an unlimited container may use.
func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb uint64
			if _, err := fmt.Sscan(rest, &kb); err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
