package specgen

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MinMemory is the smallest memory limit Docker accepts (6 MB): below it
// the container's init cannot even start.
const MinMemory = 6 * 1024 * 1024

// Host is what validating limits needs to know of the machine.
type Host struct {
	CPUs      map[int]bool // online CPUs
	Mems      map[int]bool // online NUMA nodes
	NumCPU    int          // CPUs this process may use (--cpus' upper bound)
	SwapLimit bool         // the kernel can limit swap (v1 memsw files, v2 memory.swap.max)
}

// Check refuses limits Docker refuses, before anything is created, and
// fills in Docker's default: memory+swap twice the memory limit where the
// kernel can limit swap.
func (l *Limits) Check(h Host) error {
	checks := []func(Host) error{l.checkMemory, l.checkCPU, l.checkCpuset, l.checkOther}
	for _, c := range checks {
		if err := c(h); err != nil {
			return err
		}
	}
	if l.Memory > 0 && l.MemorySwap == 0 && h.SwapLimit {
		l.MemorySwap = 2 * l.Memory
		l.SwapDefaulted = true
	}
	if !h.SwapLimit && l.MemorySwap > 0 {
		return errors.New("invalid --memory-swap: this kernel does not support swap limits (swap accounting is off)")
	}
	return nil
}

func (l *Limits) checkMemory(Host) error {
	switch {
	case l.Memory < 0:
		return fmt.Errorf("invalid memory limit %d", l.Memory)
	case l.Memory > 0 && l.Memory < MinMemory:
		return errors.New("minimum memory limit allowed is 6MB")
	case l.MemorySwap < -1:
		return fmt.Errorf("invalid memory+swap limit %d (-1 means unlimited)", l.MemorySwap)
	case l.MemorySwap > 0 && l.Memory == 0:
		return errors.New("you should always set the memory limit when using the memory+swap limit (--memory-swap needs --memory)")
	case l.MemorySwap > 0 && l.MemorySwap < l.Memory:
		return errors.New("minimum memoryswap limit should be larger than memory limit")
	case l.MemoryReservation < 0:
		return fmt.Errorf("invalid memory reservation %d", l.MemoryReservation)
	case l.MemoryReservation > 0 && l.MemoryReservation < MinMemory:
		return errors.New("minimum memory reservation allowed is 6MB")
	case l.Memory > 0 && l.MemoryReservation > l.Memory:
		return errors.New("minimum memory limit can not be less than memory reservation limit")
	}
	return nil
}

func (l *Limits) checkCPU(h Host) error {
	switch {
	case l.NanoCpus < 0:
		return fmt.Errorf("invalid --cpus %s", cpusString(l.NanoCpus))
	case l.NanoCpus > 0 && l.CPUPeriod != 0:
		return errors.New("conflicting options: --cpus and --cpu-period cannot both be set")
	case l.NanoCpus > 0 && l.CPUQuota != 0:
		return errors.New("conflicting options: --cpus and --cpu-quota cannot both be set")
	case l.NanoCpus > 0 && (l.NanoCpus < 1e7 || l.NanoCpus > int64(h.NumCPU)*1e9):
		return fmt.Errorf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", h.NumCPU, h.NumCPU)
	case l.CPUShares < 0 || (l.CPUShares > 0 && (l.CPUShares < 2 || l.CPUShares > 262144)):
		// The kernel's range (v1 cpu.shares; v2 weight is converted from it).
		return fmt.Errorf("invalid --cpu-shares %d: the range is 2 to 262144", l.CPUShares)
	case l.CPUPeriod < 0 || (l.CPUPeriod > 0 && (l.CPUPeriod < 1000 || l.CPUPeriod > 1000000)):
		return errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	case l.CPUQuota < -1 || (l.CPUQuota > 0 && l.CPUQuota < 1000):
		return errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	return nil
}

func (l *Limits) checkCpuset(h Host) error {
	if err := checkSet("cpuset cpus", "CPUs", l.CpusetCpus, h.CPUs); err != nil {
		return err
	}
	return checkSet("cpuset mems", "memory nodes", l.CpusetMems, h.Mems)
}

func checkSet(flag, what, req string, avail map[int]bool) error {
	if req == "" {
		return nil
	}
	set, err := ParseCPUList(req)
	if err != nil || len(set) == 0 {
		return fmt.Errorf("invalid value %q for %s", req, flag)
	}
	for n := range set {
		if !avail[n] {
			return fmt.Errorf("requested %s are not available - requested %s, available: %s", what, req, FormatList(avail))
		}
	}
	return nil
}

func (l *Limits) checkOther(Host) error {
	switch {
	case l.PidsLimit < -1:
		return fmt.Errorf("invalid --pids-limit %d (-1 means unlimited)", l.PidsLimit)
	case l.BlkioWeight != 0 && (l.BlkioWeight < 10 || l.BlkioWeight > 1000):
		return errors.New("range of blkio weight is from 10 to 1000")
	}
	for _, d := range slices.Concat(l.BlkioDeviceReadBps, l.BlkioDeviceWriteBps) {
		if _, _, err := blockDevice(d.Path); err != nil {
			return err
		}
	}
	return nil
}

// FormatList prints a set as a cpuset list ("0-2,4").
func FormatList(set map[int]bool) string {
	ns := make([]int, 0, len(set))
	for n := range set {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		p := strconv.Itoa(ns[i])
		if j > i {
			p += "-" + strconv.Itoa(ns[j])
		}
		parts = append(parts, p)
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func cpusString(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
}
