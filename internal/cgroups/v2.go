package cgroups

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func (c *Cgroup) setV2Cpuset(r *specs.LinuxResources) error {
	if r.CPU == nil {
		return nil
	}
	dir := c.paths[""]
	if r.CPU.Cpus != "" {
		if err := writeFile(dir, "cpuset.cpus", r.CPU.Cpus); err != nil {
			return err
		}
	}
	if r.CPU.Mems != "" {
		return writeFile(dir, "cpuset.mems", r.CPU.Mems)
	}
	return nil
}

// setV2Memory writes memory.swap.max (swap only, converted from the spec's
// memory+swap), memory.max and memory.low (the soft reservation).
func (c *Cgroup) setV2Memory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil || !memorySet(m) {
		return nil
	}
	dir := c.paths[""]
	limit := deref(m.Limit)
	swap, err := swapToV2(deref(m.Swap), limit)
	if err != nil {
		return err
	}
	write := swap != 0
	if swap == 0 && deref(m.Swap) > 0 {
		write = true // memory+swap == memory: no swap at all, written as "0"
	}
	if write {
		switch {
		case exists(dir, "memory.swap.max"):
			if err := writeFile(dir, "memory.swap.max", limitString(swap)); err != nil {
				return err
			}
		case m.Swap != nil:
			return fmt.Errorf("swap limit requested but %s is missing (swap accounting is off): %w",
				filepath.Join(dir, "memory.swap.max"), ErrUnsupported)
		}
	}
	if limit != 0 {
		if err := writeFile(dir, "memory.max", limitString(limit)); err != nil {
			return err
		}
	}
	if m.Reservation != nil {
		return writeFile(dir, "memory.low", limitString(*m.Reservation))
	}
	return nil
}

func (c *Cgroup) setV2CPU(r *specs.LinuxResources) error {
	cpu := r.CPU
	if cpu == nil || !cpuSet(cpu) {
		return nil
	}
	dir := c.paths[""]
	if w := sharesToWeight(deref(cpu.Shares)); w != 0 {
		if err := writeFile(dir, "cpu.weight", utoa(w)); err != nil {
			return err
		}
	}
	if err := setCPUMax(dir, cpu); err != nil {
		return err
	}
	if cpu.Burst != nil {
		if err := writeFile(dir, "cpu.max.burst", utoa(*cpu.Burst)); err != nil {
			return err
		}
	}
	if cpu.Idle != nil {
		return writeFile(dir, "cpu.idle", itoa(*cpu.Idle))
	}
	return nil
}

// setCPUMax writes cpu.max "QUOTA PERIOD" ("max" for no quota). When only
// the period changes the current quota is kept, not reset to "max".
func setCPUMax(dir string, cpu *specs.LinuxCPU) error {
	quota, period := quotaPeriod(cpu)
	if quota == 0 && period == 0 {
		return nil
	}
	q := "max"
	switch {
	case quota > 0:
		q = itoa(quota)
	case quota == 0:
		cur, err := readFile(dir, "cpu.max")
		if err != nil {
			return err
		}
		if f := strings.Fields(cur); len(f) > 0 {
			q = f[0]
		}
	}
	if period != 0 {
		q += " " + utoa(period)
	}
	return writeFile(dir, "cpu.max", q)
}

// setV2IO writes the weight to io.bfq.weight when BFQ is in use (same
// 10..1000 range as v1) and otherwise to io.weight converted to 1..10000,
// then the throttles to io.max.
func (c *Cgroup) setV2IO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	dir := c.paths[""]
	bfq := exists(dir, "io.bfq.weight")
	file, conv := "io.weight", blkioToIOWeight
	if bfq {
		file, conv = "io.bfq.weight", func(w uint16) uint64 { return uint64(w) }
	}
	var lines []string
	if w := deref(b.Weight); w != 0 {
		lines = append(lines, utoa(conv(w)))
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			lines = append(lines, devNum(d.LinuxBlockIODevice)+" "+utoa(conv(*d.Weight)))
		}
	}
	if len(lines) > 0 {
		if err := writeLines(dir, file, lines, true); err != nil {
			return err
		}
	}
	lines = nil
	for _, t := range throttleFiles(b) {
		for _, d := range t.devs {
			lines = append(lines, fmt.Sprintf("%s %s=%d", devNum(d.LinuxBlockIODevice), t.v2, d.Rate))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return writeLines(dir, "io.max", lines, true)
}

// setUnified writes the spec's raw v2 key/values (validated file names).
func (c *Cgroup) setUnified(r *specs.LinuxResources) error {
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := writeFile(c.paths[""], k, r.Unified[k]); err != nil {
			return err
		}
	}
	return nil
}

// setV2Devices installs the eBPF device filter that v2 uses instead of
// devices.allow/deny. An empty list keeps whatever is installed.
func (c *Cgroup) setV2Devices(r *specs.LinuxResources) error {
	if len(r.Devices) == 0 {
		return nil
	}
	rules := make([]devRule, len(r.Devices))
	for i, d := range r.Devices {
		rules[i], _ = deviceRule(d) // validated
	}
	dir := c.paths[""]
	if err := c.fs.attachDevices(dir, deviceFilter(rules)); err != nil {
		return fmt.Errorf("device filter for %s: %w", dir, err)
	}
	return nil
}
