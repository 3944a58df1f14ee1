package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func (c *Cgroup) setV1Cpuset(r *specs.LinuxResources) error {
	if r.CPU == nil || (r.CPU.Cpus == "" && r.CPU.Mems == "") {
		return nil
	}
	dir, err := c.dir("cpuset")
	if err != nil {
		return err
	}
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

func (c *Cgroup) setV1Memory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil || !memorySet(m) {
		return nil
	}
	dir, err := c.dir("memory")
	if err != nil {
		return err
	}
	if err := setV1MemoryAndSwap(dir, deref(m.Limit), deref(m.Swap), m.Swap != nil); err != nil {
		return err
	}
	if m.Reservation != nil {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", itoa(*m.Reservation)); err != nil {
			return err
		}
	}
	if m.DisableOOMKiller != nil {
		v := map[bool]string{true: "1", false: "0"}[*m.DisableOOMKiller]
		if err := writeFile(dir, "memory.oom_control", v); err != nil {
			return err
		}
	}
	if m.Swappiness != nil {
		if err := writeFile(dir, "memory.swappiness", utoa(*m.Swappiness)); err != nil {
			return err
		}
	}
	if m.KernelTCP != nil {
		return writeFile(dir, "memory.kmem.tcp.limit_in_bytes", itoa(*m.KernelTCP))
	}
	return nil
}

const memswFile = "memory.memsw.limit_in_bytes"

// setV1MemoryAndSwap writes memory.limit_in_bytes and memsw (memory+swap).
// The kernel requires limit <= memsw at every moment, so the order depends
// on whether the limits grow or shrink (runc's rule).
func setV1MemoryAndSwap(dir string, limit, swap int64, swapRequested bool) error {
	if limit == -1 && swap == 0 {
		swap = -1 // unlimited memory means unlimited swap too
	}
	if swap != 0 && !exists(dir, memswFile) {
		if swapRequested {
			return fmt.Errorf("swap limit requested but %s is missing (swap accounting is off; boot with swapaccount=1): %w",
				filepath.Join(dir, memswFile), ErrUnsupported)
		}
		swap = 0
	}
	swapFirst := false
	if limit != 0 && swap != 0 {
		cur, err := readUint(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		swapFirst = swap == -1 || cur < uint64(swap)
	}
	writes := []struct {
		file string
		v    int64
	}{{"memory.limit_in_bytes", limit}, {memswFile, swap}}
	if swapFirst {
		writes[0], writes[1] = writes[1], writes[0]
	}
	for _, w := range writes {
		if w.v == 0 {
			continue
		}
		if err := writeFile(dir, w.file, itoa(w.v)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cgroup) setV1CPU(r *specs.LinuxResources) error {
	cpu := r.CPU
	if cpu == nil || !cpuSet(cpu) {
		return nil
	}
	dir, err := c.dir("cpu")
	if err != nil {
		return err
	}
	if s := deref(cpu.Shares); s != 0 {
		if err := writeShares(dir, s); err != nil {
			return err
		}
	}
	if err := setV1QuotaPeriod(dir, cpu); err != nil {
		return err
	}
	if cpu.Burst != nil {
		if err := writeFile(dir, "cpu.cfs_burst_us", utoa(*cpu.Burst)); err != nil {
			return err
		}
	}
	// The realtime period must be set before the runtime it bounds.
	if p := deref(cpu.RealtimePeriod); p != 0 {
		if err := writeFile(dir, "cpu.rt_period_us", utoa(p)); err != nil {
			return err
		}
	}
	if rt := deref(cpu.RealtimeRuntime); rt != 0 {
		if err := writeFile(dir, "cpu.rt_runtime_us", itoa(rt)); err != nil {
			return err
		}
	}
	if cpu.Idle != nil {
		return writeFile(dir, "cpu.idle", itoa(*cpu.Idle))
	}
	return nil
}

func cpuSet(cpu *specs.LinuxCPU) bool {
	return cpu.Shares != nil || cpu.Quota != nil || cpu.Period != nil || cpu.Burst != nil ||
		cpu.RealtimePeriod != nil || cpu.RealtimeRuntime != nil || cpu.Idle != nil
}

// writeShares writes cpu.shares and reads it back: the kernel clamps
// out-of-range values (2..262144) without an error, which we do not accept.
func writeShares(dir string, shares uint64) error {
	if err := writeFile(dir, "cpu.shares", utoa(shares)); err != nil {
		return err
	}
	got, err := readUint(dir, "cpu.shares")
	if err != nil {
		return err
	}
	if got != shares {
		return fmt.Errorf("cpu shares %d out of range: the kernel set %s to %d (allowed 2..262144)",
			shares, filepath.Join(dir, "cpu.shares"), got)
	}
	return nil
}

// setV1QuotaPeriod writes cfs_period_us then cfs_quota_us. A smaller period
// can be refused (EINVAL) while the old quota would exceed the parent's
// limit; then it is retried after the quota, as runc does.
func setV1QuotaPeriod(dir string, cpu *specs.LinuxCPU) error {
	quota, period := quotaPeriod(cpu)
	retryPeriod := false
	if period != 0 {
		if err := writeFile(dir, "cpu.cfs_period_us", utoa(period)); err != nil {
			if !errors.Is(err, unix.EINVAL) || quota == 0 {
				return err
			}
			retryPeriod = true
		}
	}
	if quota != 0 {
		if err := writeFile(dir, "cpu.cfs_quota_us", itoa(quota)); err != nil {
			return err
		}
	}
	if retryPeriod {
		return writeFile(dir, "cpu.cfs_period_us", utoa(period))
	}
	return nil
}

func (c *Cgroup) setV1Blkio(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	dir, err := c.dir("blkio")
	if err != nil {
		return err
	}
	if err := setV1BlkioWeight(dir, b); err != nil {
		return err
	}
	for _, t := range throttleFiles(b) {
		if len(t.devs) == 0 {
			continue
		}
		var lines []string
		for _, d := range t.devs {
			lines = append(lines, fmt.Sprintf("%s %d", devNum(d.LinuxBlockIODevice), d.Rate))
		}
		if err := writeLines(dir, t.v1, lines, true); err != nil {
			return err
		}
	}
	return nil
}

// setV1BlkioWeight uses blkio.weight (CFQ, gone since 5.0) when present and
// blkio.bfq.weight otherwise, like runc.
func setV1BlkioWeight(dir string, b *specs.LinuxBlockIO) error {
	weightFile, deviceFile := "blkio.weight", "blkio.weight_device"
	if !exists(dir, weightFile) {
		weightFile, deviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if w := deref(b.Weight); w != 0 {
		if !exists(dir, weightFile) {
			return fmt.Errorf("blkio weight: neither blkio.weight nor blkio.bfq.weight in %s (BFQ I/O scheduler not available): %w", dir, ErrUnsupported)
		}
		if err := writeFile(dir, weightFile, utoa(uint64(w))); err != nil {
			return err
		}
	}
	var lines []string
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			lines = append(lines, fmt.Sprintf("%s %d", devNum(d.LinuxBlockIODevice), *d.Weight))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return writeLines(dir, deviceFile, lines, true)
}

// setV1Devices writes the rules in order, runc-style: Docker's lists start
// with "deny all" (devices.deny "a *:* rwm") followed by allow rules.
// Consecutive rules for the same file share one open file.
func (c *Cgroup) setV1Devices(r *specs.LinuxResources) error {
	if len(r.Devices) == 0 {
		return nil
	}
	dir, err := c.dir("devices")
	if err != nil {
		return err
	}
	var file string
	var lines []string
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		err := writeLines(dir, file, lines, true)
		lines = nil
		return err
	}
	for _, d := range r.Devices {
		rule, _ := deviceRule(d) // validated
		f := map[bool]string{true: "devices.allow", false: "devices.deny"}[rule.allow]
		if f != file {
			if err := flush(); err != nil {
				return err
			}
			file = f
		}
		lines = append(lines, rule.v1String())
	}
	return flush()
}
