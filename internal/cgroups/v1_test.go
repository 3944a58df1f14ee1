package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestV1CreateWritesFiles(t *testing.T) {
	f := newFakeV1(t, fakeOpts{})
	res := dockerLikeResources()
	res.CPU.Shares = ptr[uint64](512)
	res.CPU.Cpus = "1"
	res.Memory.DisableOOMKiller = ptr(true)
	res.Memory.Swappiness = ptr[uint64](0)
	i := func(n int64) *int64 { return &n }
	res.Devices = []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "rwm"},
		{Allow: true, Type: "c", Major: i(136), Access: "rwm"},
	}
	c, err := f.create(Config{Name: "ctr1", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	paths := c.Paths()
	for _, ctrl := range v1Controllers {
		if want := filepath.Join(f.mounts[ctrl], "cocin", "ctr1"); paths[ctrl] != want {
			t.Errorf("Paths()[%s] = %q, want %q", ctrl, paths[ctrl], want)
		}
	}
	// cpuset: the parent inherits from the root, the container from the parent.
	expectFiles(t, filepath.Join(f.mounts["cpuset"], "cocin"), map[string]string{"cpuset.cpus": "0-3", "cpuset.mems": "0"})
	expectFiles(t, paths["cpuset"], map[string]string{"cpuset.cpus": "1", "cpuset.mems": "0"})
	expectFiles(t, paths["memory"], map[string]string{
		"memory.limit_in_bytes":       "33554432",
		"memory.memsw.limit_in_bytes": "67108864", // memory+swap as given
		"memory.soft_limit_in_bytes":  "16777216",
		"memory.oom_control":          "1",
		"memory.swappiness":           "0",
	})
	expectFiles(t, paths["cpu"], map[string]string{"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"})
	expectFiles(t, paths["pids"], map[string]string{"pids.max": "10"})
	expectFiles(t, paths["blkio"], map[string]string{
		"blkio.bfq.weight":                 "500",
		"blkio.bfq.weight_device":          "8:0 300\n",
		"blkio.throttle.read_bps_device":   "8:0 1048576\n",
		"blkio.throttle.write_bps_device":  "8:0 2097152\n",
		"blkio.throttle.read_iops_device":  "8:16 100\n",
		"blkio.throttle.write_iops_device": "8:16 200\n",
	})
	expectFiles(t, paths["devices"], map[string]string{
		"devices.deny":  "a *:* rwm\n",
		"devices.allow": "c 1:3 rwm\nc 136:* rwm\n",
	})
	if _, err := c.OpenDirFD(); !errors.Is(err, ErrNoCgroupFD) {
		t.Errorf("OpenDirFD on v1: %v", err)
	}
	if err := c.AddProc(77); err != nil {
		t.Fatal(err)
	}
	for _, d := range c.dirs() {
		expectFiles(t, d, map[string]string{"cgroup.procs": "77"})
	}
}

func TestV1Comounted(t *testing.T) {
	f := newFakeV1(t, fakeOpts{comount: true})
	c, err := f.create(Config{Name: "co", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](20000)}}})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Paths()
	if p["cpu"] != p["cpuacct"] || !strings.Contains(p["cpu"], "cpu,cpuacct") {
		t.Errorf("cpu %q, cpuacct %q", p["cpu"], p["cpuacct"])
	}
	// Every controller has its own hierarchy but cpu and cpuacct.
	if n, want := len(c.dirs()), len(v1Controllers)-1; n != want {
		t.Errorf("%d distinct dirs, want %d", n, want)
	}
	expectFiles(t, p["cpu"], map[string]string{"cpu.cfs_quota_us": "20000", "cpu.cfs_period_us": "100000"})
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range c.dirs() {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Destroy: %v", d, err)
		}
	}
}

func TestV1Unlimited(t *testing.T) {
	f := newFakeV1(t, fakeOpts{noSwap: true})
	// -1 memory implies -1 swap, silently skipped without swap accounting
	// because swap was not asked for.
	c, err := f.create(Config{Name: "u", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](-1)},
		CPU:    &specs.LinuxCPU{Quota: ptr[int64](-1)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](0)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, c.paths["memory"], map[string]string{"memory.limit_in_bytes": "-1"})
	expectFiles(t, c.paths["cpu"], map[string]string{"cpu.cfs_quota_us": "-1"})
	expectFiles(t, c.paths["pids"], map[string]string{"pids.max": "max"})
}

func TestV1CreateErrors(t *testing.T) {
	cases := []struct {
		name    string
		opts    fakeOpts
		res     *specs.LinuxResources
		wantErr string
		is      error
	}{
		{"swap requested without accounting", fakeOpts{noSwap: true},
			&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 20), Swap: ptr[int64](2 << 20)}},
			"memory.memsw.limit_in_bytes is missing", ErrUnsupported},
		{"pids not mounted", fakeOpts{skipV1: "pids"},
			&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](5)}},
			`controller "pids" is needed but not mounted`, nil},
		{"unified on v1", fakeOpts{},
			&specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}},
			"unified", ErrUnsupported},
		{"swappiness", fakeOpts{},
			&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](101)}},
			"swappiness 101", nil},
		{"negative memory", fakeOpts{},
			&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-5)}},
			"invalid memory limit -5", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeV1(t, tc.opts)
			root := filepath.Dir(f.mounts["memory"])
			before := treeDirs(t, root)
			_, err := f.create(Config{Name: "x", Resources: tc.res})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
			if after := treeDirs(t, root); !slices.Equal(before, after) {
				t.Errorf("left behind: %v", after)
			}
		})
	}
}

func TestV1FreezeStatsOOM(t *testing.T) {
	f := newFakeV1(t, fakeOpts{})
	c, err := f.create(Config{Name: "s", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 20)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Freeze(); err != nil { // the fake file reads back what was written
		t.Fatal(err)
	}
	if frozen, err := c.Frozen(); err != nil || !frozen {
		t.Errorf("Frozen() = %v, %v", frozen, err)
	}
	if err := c.Thaw(); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, c.paths["freezer"], map[string]string{"freezer.state": "THAWED"})

	for ctrl, files := range map[string]map[string]string{
		"cpuacct": {"cpuacct.usage": "5000", "cpuacct.usage_user": "3000", "cpuacct.usage_sys": "2000"},
		"cpu":     {"cpu.stat": "nr_periods 10\nnr_throttled 4\nthrottled_time 900\n"},
		"memory": {"memory.usage_in_bytes": "8192", "memory.max_usage_in_bytes": "9000",
			"memory.stat": "cache 4096\nrss 4096\ntotal_inactive_file 1024\n", "memory.memsw.usage_in_bytes": "10240",
			"memory.memsw.limit_in_bytes": "3145728", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"},
		"pids":  {"pids.current": "2", "pids.max": "10"},
		"blkio": {"blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 50\n8:0 Total 150\n8:16 Read 1\nTotal 151\n"},
	} {
		for file, content := range files {
			put(t, filepath.Join(c.paths[ctrl], file), content)
		}
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPU:      CPUStats{UsageNS: 5000, UserNS: 3000, SystemNS: 2000, ThrottledPeriods: 4, ThrottledNS: 900},
		Memory:   MemoryStats{Usage: 8192, MaxUsage: 9000, Limit: 1 << 20, Cache: 4096, InactiveFile: 1024, Swap: 2048, SwapLimit: 2 << 20},
		Pids:     PidsStats{Current: 2, Limit: 10},
		BlkIO:    BlkIOStats{ReadBytes: 101, WriteBytes: 50},
		OOMKills: 2,
	}
	if *s != want {
		t.Errorf("Stats() =\n%+v\nwant\n%+v", *s, want)
	}
	if oom, err := c.OOMKilled(); err != nil || !oom {
		t.Errorf("OOMKilled() = %v, %v", oom, err)
	}
}

// cpuacct.stat counts USER_HZ ticks; the fallback converts them to ns.
func TestV1CPUTicksFallback(t *testing.T) {
	dir := t.TempDir()
	put(t, filepath.Join(dir, "cpuacct.stat"), "user 3\nsystem 2\n")
	var cpu CPUStats
	if err := cpuUserSystemV1(dir, &cpu); err != nil {
		t.Fatal(err)
	}
	if cpu.UserNS != 30e6 || cpu.SystemNS != 20e6 {
		t.Errorf("%+v", cpu)
	}
}

func TestV1Hugetlb(t *testing.T) {
	f := newFakeV1(t, fakeOpts{})
	c, err := f.create(Config{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	// The kernel offers the files of its page sizes only.
	dir := c.Paths()["hugetlb"]
	put(t, filepath.Join(dir, "hugetlb.2MB.limit_in_bytes"), "0")
	if err := c.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4194304}}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"hugetlb.2MB.limit_in_bytes": "4194304"})
	for _, bad := range []string{"1GB", "2XB", "../x", "MB"} {
		err := c.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: bad, Limit: 1}}})
		if err == nil || !strings.Contains(err.Error(), "hugepage size") {
			t.Errorf("page size %q: %v", bad, err)
		}
	}
}
