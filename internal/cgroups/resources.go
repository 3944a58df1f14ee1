package cgroups

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update applies new limits to a live cgroup. Fields left nil are kept.
func (c *Cgroup) Update(r *specs.LinuxResources) (err error) {
	defer wrap(&err, "update cgroup %s/%s", c.parent, c.name)
	if r == nil {
		return nil
	}
	if err := validate(c.fs.version, r); err != nil {
		return err
	}
	if err := c.ensureControllers(neededControllers(c.fs.version, r)); err != nil {
		return err
	}
	if m := r.Memory; m != nil && deref(m.CheckBeforeUpdate) {
		if err := c.checkUsageBelow(deref(m.Limit)); err != nil {
			return err
		}
	}
	return c.set(r)
}

// ensureControllers makes sure the cgroup has every needed controller: on
// v1 it must be mounted (the directory was made at Create), on v2 it may
// still have to be enabled in cocin's parent.
func (c *Cgroup) ensureControllers(needed []string) error {
	if c.fs.version == V1 {
		for _, n := range needed {
			if _, err := c.dir(n); err != nil {
				return err
			}
		}
		return nil
	}
	dir := c.fs.root
	for _, elem := range strings.Split(c.parent, "/") {
		dir = filepath.Join(dir, elem)
		if err := c.fs.delegate(dir, needed); err != nil {
			return err
		}
	}
	return nil
}

// checkUsageBelow implements CheckBeforeUpdate: refuse a memory limit
// below what the container already uses instead of letting the kernel
// reclaim or OOM-kill to fit.
func (c *Cgroup) checkUsageBelow(limit int64) error {
	if limit <= 0 {
		return nil
	}
	dir, err := c.dir("memory")
	if err != nil {
		return err
	}
	file := map[Version]string{V1: "memory.usage_in_bytes", V2: "memory.current"}[c.fs.version]
	usage, err := readUint(dir, file)
	if err != nil {
		return err
	}
	if uint64(limit) < usage {
		return fmt.Errorf("memory limit %d is below the current usage %d", limit, usage)
	}
	return nil
}

// set writes r's limits; the caller has validated r.
func (c *Cgroup) set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	steps := []func(*specs.LinuxResources) error{
		c.setV1Cpuset, c.setV1Memory, c.setV1CPU, c.setPids, c.setV1Blkio, c.setV1Devices, c.setHugetlb,
	}
	if c.fs.version == V2 {
		// unified goes last so that its raw values win, as in runc.
		steps = []func(*specs.LinuxResources) error{
			c.setV2Cpuset, c.setV2Memory, c.setV2CPU, c.setPids, c.setV2IO, c.setHugetlb, c.setUnified, c.setV2Devices,
		}
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return err
		}
	}
	return nil
}

// setPids writes pids.max; 0 and -1 both mean no limit, as in Docker.
func (c *Cgroup) setPids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	dir, err := c.dir("pids")
	if err != nil {
		return err
	}
	v := "max"
	if n := *r.Pids.Limit; n > 0 {
		v = itoa(n)
	}
	return writeFile(dir, "pids.max", v)
}

// quotaPeriod returns the CFS quota and period to write; 0 means unset,
// -1 means unlimited (runc's convention).
func quotaPeriod(cpu *specs.LinuxCPU) (quota int64, period uint64) {
	return deref(cpu.Quota), deref(cpu.Period)
}

// throttleFiles pairs the spec's four throttle lists with their names in
// v1 (blkio.throttle.*) and v2 (io.max keys).
func throttleFiles(b *specs.LinuxBlockIO) []struct {
	v1, v2 string
	devs   []specs.LinuxThrottleDevice
} {
	return []struct {
		v1, v2 string
		devs   []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", "rbps", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", "wbps", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", "riops", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", "wiops", b.ThrottleWriteIOPSDevice},
	}
}

func devNum(d specs.LinuxBlockIODevice) string {
	return fmt.Sprintf("%d:%d", d.Major, d.Minor)
}

// setHugetlb writes the hugepage limits: hugetlb.<size>.limit_in_bytes on
// v1, hugetlb.<size>.max on v2. A page size the kernel does not offer has
// no file there, which is reported as such.
func (c *Cgroup) setHugetlb(r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	dir, suffix := c.paths[""], "max"
	if c.fs.version == V1 {
		var err error
		if dir, err = c.dir("hugetlb"); err != nil {
			return err
		}
		suffix = "limit_in_bytes"
	}
	for _, l := range r.HugepageLimits {
		file := "hugetlb." + l.Pagesize + "." + suffix
		if !validPagesize(l.Pagesize) || !exists(dir, file) {
			return fmt.Errorf("hugepage size %q is not offered by this kernel", l.Pagesize)
		}
		if err := writeFile(dir, file, strconv.FormatUint(l.Limit, 10)); err != nil {
			return err
		}
	}
	return nil
}

// validPagesize accepts the kernel's names: digits and KB, MB or GB.
func validPagesize(s string) bool {
	n := strings.TrimRight(s, "KMGB")
	if n == "" || len(s)-len(n) != 2 || !strings.HasSuffix(s, "B") {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
