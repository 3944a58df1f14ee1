package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Stats is a snapshot of a cgroup's usage. Limits of 0 mean "no limit".
type Stats struct {
	CPU      CPUStats
	Memory   MemoryStats
	Pids     PidsStats
	BlkIO    BlkIOStats
	OOMKills uint64 // processes the OOM killer killed in this cgroup
}

type CPUStats struct {
	UsageNS          uint64 // total CPU time
	UserNS           uint64
	SystemNS         uint64
	ThrottledPeriods uint64 // CFS periods in which the quota ran out
	ThrottledNS      uint64
}

type MemoryStats struct {
	Usage        uint64 // bytes charged, page cache included
	MaxUsage     uint64 // peak (v1 max_usage_in_bytes, v2 memory.peak); 0 if unknown
	Limit        uint64
	Cache        uint64 // page cache (v1 "cache", v2 "file")
	InactiveFile uint64 // reclaimable cache (v1 total_inactive_file, v2 inactive_file)
	Swap         uint64 // swap in use
	SwapLimit    uint64 // swap alone, not memory+swap
}

// WorkingSet is what `docker stats` shows as memory usage: usage minus the
// inactive page cache the kernel can drop at any time.
func (m MemoryStats) WorkingSet() uint64 {
	if m.InactiveFile < m.Usage {
		return m.Usage - m.InactiveFile
	}
	return m.Usage
}

type PidsStats struct {
	Current uint64
	Limit   uint64
}

type BlkIOStats struct {
	ReadBytes  uint64
	WriteBytes uint64
}

// unlimited normalises the kernel's "no limit" spellings (v1's
// PAGE_COUNTER_MAX-derived 9223372036854771712, v2's "max" read as 0) to 0.
func unlimited(n uint64) uint64 {
	if n >= 1<<62 {
		return 0
	}
	return n
}

// Stats reads the cgroup's usage. Controllers that are not mounted or not
// enabled leave their part zero; other read errors are returned.
func (c *Cgroup) Stats() (*Stats, error) {
	s := &Stats{}
	readers := []func(*Stats) error{c.cpuStatsV1, c.memoryStatsV1, c.pidsStats, c.blkioStatsV1}
	if c.fs.version == V2 {
		readers = []func(*Stats) error{c.cpuStatsV2, c.memoryStatsV2, c.pidsStats, c.ioStatsV2}
	}
	for _, read := range readers {
		if err := read(s); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrUnsupported) {
			return nil, fmt.Errorf("cgroups: stats %s/%s: %w", c.parent, c.name, err)
		}
	}
	return s, nil
}

func (c *Cgroup) cpuStatsV1(s *Stats) error {
	dir, err := c.dir("cpuacct")
	if err != nil {
		return err
	}
	if s.CPU.UsageNS, err = readUint(dir, "cpuacct.usage"); err != nil {
		return err
	}
	if err := cpuUserSystemV1(dir, &s.CPU); err != nil {
		return err
	}
	if cdir, err := c.dir("cpu"); err == nil {
		st, err := readKV(cdir, "cpu.stat")
		if err != nil {
			return err
		}
		s.CPU.ThrottledPeriods, s.CPU.ThrottledNS = st["nr_throttled"], st["throttled_time"]
	}
	return nil
}

// cpuUserSystemV1 prefers the nanosecond files of newer kernels over
// cpuacct.stat, which counts USER_HZ (always 100) ticks.
func cpuUserSystemV1(dir string, cpu *CPUStats) error {
	user, errU := readUint(dir, "cpuacct.usage_user")
	sys, errS := readUint(dir, "cpuacct.usage_sys")
	if errU == nil && errS == nil {
		cpu.UserNS, cpu.SystemNS = user, sys
		return nil
	}
	st, err := readKV(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	const nsPerTick = 1e9 / 100
	cpu.UserNS, cpu.SystemNS = st["user"]*nsPerTick, st["system"]*nsPerTick
	return nil
}

func (c *Cgroup) cpuStatsV2(s *Stats) error {
	st, err := readKV(c.paths[""], "cpu.stat")
	if err != nil {
		return err
	}
	s.CPU = CPUStats{
		UsageNS:          st["usage_usec"] * 1000,
		UserNS:           st["user_usec"] * 1000,
		SystemNS:         st["system_usec"] * 1000,
		ThrottledPeriods: st["nr_throttled"],
		ThrottledNS:      st["throttled_usec"] * 1000,
	}
	return nil
}

func (c *Cgroup) memoryStatsV1(s *Stats) error {
	dir, err := c.dir("memory")
	if err != nil {
		return err
	}
	m := &s.Memory
	for _, f := range []struct {
		file string
		dst  *uint64
	}{{"memory.usage_in_bytes", &m.Usage}, {"memory.max_usage_in_bytes", &m.MaxUsage}, {"memory.limit_in_bytes", &m.Limit}} {
		if *f.dst, err = readUint(dir, f.file); err != nil {
			return err
		}
	}
	m.Limit = unlimited(m.Limit)
	st, err := readKV(dir, "memory.stat")
	if err != nil {
		return err
	}
	m.Cache, m.InactiveFile = st["cache"], st["total_inactive_file"]
	if oc, err := readKV(dir, "memory.oom_control"); err == nil {
		s.OOMKills = oc["oom_kill"]
	}
	// memsw counts memory+swap; it is absent without swap accounting.
	if sw, err := readUint(dir, "memory.memsw.usage_in_bytes"); err == nil && sw >= m.Usage {
		m.Swap = sw - m.Usage
		if lim, err := readUint(dir, memswFile); err == nil && unlimited(lim) >= m.Limit && m.Limit != 0 {
			m.SwapLimit = unlimited(lim) - m.Limit
		}
	}
	return nil
}

func (c *Cgroup) memoryStatsV2(s *Stats) error {
	dir := c.paths[""]
	m := &s.Memory
	var err error
	if m.Usage, err = readUint(dir, "memory.current"); err != nil {
		return err
	}
	if m.Limit, err = readUint(dir, "memory.max"); err != nil {
		return err
	}
	m.MaxUsage, _ = readUint(dir, "memory.peak") // Linux 5.19+
	st, err := readKV(dir, "memory.stat")
	if err != nil {
		return err
	}
	m.Cache, m.InactiveFile = st["file"], st["inactive_file"]
	m.Swap, _ = readUint(dir, "memory.swap.current")
	m.SwapLimit, _ = readUint(dir, "memory.swap.max")
	if ev, err := readKV(dir, "memory.events"); err == nil {
		s.OOMKills = ev["oom_kill"]
	}
	return nil
}

func (c *Cgroup) pidsStats(s *Stats) error {
	dir, err := c.dir("pids")
	if err != nil {
		return err
	}
	if s.Pids.Current, err = readUint(dir, "pids.current"); err != nil {
		return err
	}
	s.Pids.Limit, err = readUint(dir, "pids.max")
	return err
}

// blkioStatsV1 sums the throttle layer's byte counters, which count every
// I/O whatever the scheduler ("8:0 Read 4096" lines, "Total" skipped).
func (c *Cgroup) blkioStatsV1(s *Stats) error {
	dir, err := c.dir("blkio")
	if err != nil {
		return err
	}
	data, err := readFile(dir, "blkio.throttle.io_service_bytes_recursive")
	if errors.Is(err, fs.ErrNotExist) {
		data, err = readFile(dir, "blkio.throttle.io_service_bytes")
	}
	if err != nil {
		return err
	}
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := parseUint(f[2])
		if err != nil {
			continue
		}
		switch f[1] {
		case "Read":
			s.BlkIO.ReadBytes += n
		case "Write":
			s.BlkIO.WriteBytes += n
		}
	}
	return nil
}

// ioStatsV2 sums io.stat: "8:0 rbytes=N wbytes=N rios=N wios=N ...".
func (c *Cgroup) ioStatsV2(s *Stats) error {
	data, err := readFile(c.paths[""], "io.stat")
	if err != nil {
		return err
	}
	for _, field := range strings.Fields(data) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		n, err := parseUint(v)
		if err != nil {
			continue
		}
		switch k {
		case "rbytes":
			s.BlkIO.ReadBytes += n
		case "wbytes":
			s.BlkIO.WriteBytes += n
		}
	}
	return nil
}

// OOMKilled reports whether the OOM killer killed a process of this cgroup
// (v1 memory.oom_control, v2 memory.events: oom_kill > 0).
func (c *Cgroup) OOMKilled() (bool, error) {
	dir, err := c.dir("memory")
	if err != nil {
		return false, err
	}
	file := map[Version]string{V1: "memory.oom_control", V2: "memory.events"}[c.fs.version]
	kv, err := readKV(dir, file)
	if err != nil {
		return false, fmt.Errorf("cgroups: %w", err)
	}
	return kv["oom_kill"] > 0, nil
}
