package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func dev(maj, min int64) specs.LinuxBlockIODevice {
	return specs.LinuxBlockIODevice{Major: maj, Minor: min}
}

// dockerLikeResources is what `docker run -m 32m --memory-swap 64m
// --memory-reservation 16m --cpus 0.5 --cpuset-cpus 0-1 --pids-limit 10
// --blkio-weight 500 --device-read-bps ...` puts in the spec.
func dockerLikeResources() *specs.LinuxResources {
	return &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](32 << 20), Swap: ptr[int64](64 << 20), Reservation: ptr[int64](16 << 20)},
		CPU: &specs.LinuxCPU{Shares: ptr[uint64](1024), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
			Cpus: "0-1", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: ptr[int64](10)},
		BlockIO: &specs.LinuxBlockIO{
			Weight:                  ptr[uint16](500),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: ptr[uint16](300)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 16), Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 16), Rate: 200}},
		},
	}
}

func TestV2CreateWritesFiles(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	res := dockerLikeResources()
	res.Unified = map[string]string{"memory.high": "30000000"}
	c, err := f.create(Config{Name: "ctr1", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.root, "cocin", "ctr1")
	if got := c.Paths(); len(got) != 1 || got[""] != dir {
		t.Fatalf("Paths() = %v", got)
	}
	expectFiles(t, f.root, map[string]string{
		"cgroup.subtree_control":       "cpuset cpu io memory pids", // the root is never written
		"cocin/cgroup.subtree_control": "+cpu +cpuset +io +memory +pids",
	})
	expectFiles(t, dir, map[string]string{
		"memory.max":      "33554432",
		"memory.swap.max": "33554432", // (memory+swap) - memory
		"memory.low":      "16777216",
		"memory.high":     "30000000",
		"cpu.weight":      "100",
		"cpu.max":         "50000 100000",
		"cpuset.cpus":     "0-1",
		"cpuset.mems":     "0",
		"pids.max":        "10",
		"io.weight":       "4950\n8:0 2930\n", // 1+(w-10)*9999/990
		"io.max":          "8:0 rbps=1048576\n8:0 wbps=2097152\n8:16 riops=100\n8:16 wiops=200\n",
		"cgroup.procs":    "",
	})
}

func TestV2BFQWeight(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{bfq: true})
	res := &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](500),
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: ptr[uint16](300)}}}}
	c, err := f.create(Config{Name: "b", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	// BFQ takes v1's 10..1000 range unconverted.
	expectFiles(t, c.paths[""], map[string]string{"io.bfq.weight": "500\n8:0 300\n"})
}

func TestV2Unlimited(t *testing.T) {
	cases := []struct {
		name string
		res  *specs.LinuxResources
		want map[string]string
	}{
		{"memory -1 means swap max too", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1)}},
			map[string]string{"memory.max": "max", "memory.swap.max": "max"}},
		{"swap -1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 30), Swap: ptr[int64](-1)}},
			map[string]string{"memory.max": "1073741824", "memory.swap.max": "max"}},
		{"swap == memory disables swap", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 30), Swap: ptr[int64](1 << 30)}},
			map[string]string{"memory.max": "1073741824", "memory.swap.max": "0"}},
		{"memory only leaves swap alone", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 30)}},
			map[string]string{"memory.max": "1073741824", "memory.swap.max": "max"}},
		{"pids -1", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](-1)}}, map[string]string{"pids.max": "max"}},
		{"pids 0", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](0)}}, map[string]string{"pids.max": "max"}},
		{"quota -1", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](-1), Period: ptr[uint64](200000)}},
			map[string]string{"cpu.max": "max 200000"}},
		{"quota only", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](25000)}}, map[string]string{"cpu.max": "25000"}},
		{"shares 2", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](2)}}, map[string]string{"cpu.weight": "1"}},
		{"burst and idle", &specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: ptr[uint64](1000), Idle: ptr[int64](1)}},
			map[string]string{"cpu.max.burst": "1000", "cpu.idle": "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFakeV2(t, fakeOpts{})
			c, err := f.create(Config{Name: "u", Resources: tc.res})
			if err != nil {
				t.Fatal(err)
			}
			expectFiles(t, c.paths[""], tc.want)
		})
	}
}

// TestV2CreateErrors: bad input fails, names the reason, leaves no directory.
func TestV2CreateErrors(t *testing.T) {
	cases := []struct {
		name    string
		opts    fakeOpts
		cfg     Config
		wantErr string
		is      error
	}{
		{"controller not delegated by the root", fakeOpts{controllers: "cpu pids"},
			Config{Name: "x", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 20)}}},
			`controller "memory" is needed but not available`, nil},
		{"oom killer", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: ptr(true)}}},
			"disabling the OOM killer", ErrUnsupported},
		{"swap without accounting", fakeOpts{noSwap: true},
			Config{Name: "x", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 20), Swap: ptr[int64](2 << 20)}}},
			"memory.swap.max is missing", ErrUnsupported},
		{"swap below memory", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](2 << 20), Swap: ptr[int64](1 << 20)}}},
			"below the memory limit", nil},
		{"swap without memory", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr[int64](1 << 20)}}},
			"needs a memory limit", nil},
		{"realtime", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr[int64](1000)}}},
			"realtime", ErrUnsupported},
		{"blkio weight range", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}}},
			"invalid blkio weight 5", nil},
		{"bad device type", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "p", Access: "rwm"}}}},
			"invalid device type", nil},
		{"bad device access", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "c", Access: "rx"}}}},
			"invalid device access", nil},
		{"unified cgroup.procs", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}}},
			"managed by cocin", nil},
		{"unified path escape", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}},
			"invalid unified resource key", nil},
		{"hugetlb", fakeOpts{},
			Config{Name: "x", Resources: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}}},
			`controller "hugetlb" is needed`, nil},
		{"name with slash", fakeOpts{}, Config{Name: "a/b"}, "invalid cgroup name", nil},
		{"name dotdot", fakeOpts{}, Config{Name: ".."}, "invalid cgroup name", nil},
		{"parent escape", fakeOpts{}, Config{Parent: "cocin/../..", Name: "x"}, "invalid cgroup name", nil},
		{"empty name", fakeOpts{}, Config{}, "invalid cgroup name", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFakeV2(t, tc.opts)
			_, err := f.create(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
			if d := treeDirs(t, f.root); len(d) != 0 {
				t.Errorf("left behind: %v", d)
			}
		})
	}
}

// TestV2KernelRefusal: a value the kernel refuses fails Create with an error
// naming file and value, and everything made is removed. The fake "kernel"
// refuses by having a directory where pids.max should be (EISDIR).
func TestV2KernelRefusal(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	populate := f.populate
	f.populate = func(dir string) error {
		if err := populate(dir); err != nil {
			return err
		}
		if filepath.Base(dir) == "bad" {
			os.Remove(filepath.Join(dir, "pids.max"))
			return os.Mkdir(filepath.Join(dir, "pids.max"), 0o755)
		}
		return nil
	}
	_, err := f.create(Config{Name: "bad", Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](10)}}})
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *WriteError", err)
	}
	if we.Path != filepath.Join(f.root, "cocin/bad/pids.max") || we.Value != "10" {
		t.Errorf("WriteError names %s = %q", we.Path, we.Value)
	}
	if !strings.Contains(err.Error(), `write "10" to `) {
		t.Errorf("message %q does not show the value", err)
	}
	if d := treeDirs(t, f.root); len(d) != 0 {
		t.Errorf("left behind: %v", d)
	}
}

// A parent that existed before a failed Create stays.
func TestV2FailureKeepsExistingParent(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	if _, err := f.create(Config{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.create(Config{Name: "first"})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create: %v", err)
	}
	if d := treeDirs(t, f.root); !slices.Equal(d, []string{"cocin", "cocin/first"}) {
		t.Errorf("tree = %v", d)
	}
}

func TestV2UpdateLoadDestroy(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	if _, err := f.create(Config{Parent: "cocin/web", Name: "u", Resources: dockerLikeResources()}); err != nil {
		t.Fatal(err)
	}
	c, err := f.load("/cocin/web/", "u")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.root, "cocin/web/u")
	// Only the period changes: the quota must survive.
	if err := c.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](200000)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cpu.max": "50000 200000"})
	if err := c.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Swap: ptr[int64](64 << 20)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"memory.max": "67108864", "memory.swap.max": "0"})

	put(t, filepath.Join(dir, "memory.current"), "50000000")
	err = c.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](10 << 20), CheckBeforeUpdate: ptr(true)}})
	if err == nil || !strings.Contains(err.Error(), "below the current usage") {
		t.Fatalf("CheckBeforeUpdate: %v", err)
	}
	expectFiles(t, dir, map[string]string{"memory.max": "67108864"})

	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	if _, err := f.load("cocin/web", "u"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("load after destroy: %v", err)
	}
	if err := f.removeParent("cocin/web"); err != nil {
		t.Fatal(err)
	}
	if d := treeDirs(t, f.root); !slices.Equal(d, []string{"cocin"}) {
		t.Errorf("tree = %v", d)
	}
}

func TestV2ProcsFreezeKill(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	c, err := f.create(Config{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	dir := c.paths[""]
	if err := c.AddProc(4242); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cgroup.procs": "4242"})
	put(t, filepath.Join(dir, "cgroup.procs"), "4242\n4243\n")
	if pids, err := c.Procs(); err != nil || !slices.Equal(pids, []int{4242, 4243}) {
		t.Errorf("Procs() = %v, %v", pids, err)
	}
	fd, err := c.OpenDirFD()
	if err != nil {
		t.Fatal(err)
	}
	os.NewFile(uintptr(fd), "cg").Close()

	// The fake kernel never reports frozen: Freeze must give up and thaw.
	defer func(d time.Duration) { freezeTimeout = d }(freezeTimeout)
	freezeTimeout = 20 * time.Millisecond
	if err := c.Freeze(); err == nil {
		t.Error("Freeze succeeded without cgroup.events frozen 1")
	}
	expectFiles(t, dir, map[string]string{"cgroup.freeze": "0"})
	put(t, filepath.Join(dir, "cgroup.events"), "populated 1\nfrozen 1\n")
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cgroup.freeze": "1"})
	if st, _ := c.State(); st != Frozen {
		t.Errorf("State() = %s", st)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cgroup.kill": "1"})
}

func TestV2Stats(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	c, err := f.create(Config{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	dir := c.paths[""]
	for file, content := range map[string]string{
		"cpu.stat":            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 9\nnr_throttled 3\nthrottled_usec 7\n",
		"memory.current":      "10000",
		"memory.max":          "20000",
		"memory.stat":         "anon 6000\nfile 4000\ninactive_file 3000\n",
		"memory.swap.current": "100",
		"memory.events":       "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n",
		"pids.current":        "3",
		"pids.max":            "max",
		"io.stat":             "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
	} {
		put(t, filepath.Join(dir, file), content)
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPU:      CPUStats{UsageNS: 1500000, UserNS: 1000000, SystemNS: 500000, ThrottledPeriods: 3, ThrottledNS: 7000},
		Memory:   MemoryStats{Usage: 10000, Limit: 20000, Cache: 4000, InactiveFile: 3000, Swap: 100},
		Pids:     PidsStats{Current: 3},
		BlkIO:    BlkIOStats{ReadBytes: 101, WriteBytes: 202},
		OOMKills: 1,
	}
	if *s != want {
		t.Errorf("Stats() =\n%+v\nwant\n%+v", *s, want)
	}
	if ws := s.Memory.WorkingSet(); ws != 7000 {
		t.Errorf("WorkingSet() = %d", ws)
	}
	if oom, err := c.OOMKilled(); err != nil || !oom {
		t.Errorf("OOMKilled() = %v, %v", oom, err)
	}
}

func TestV2DevicesAttach(t *testing.T) {
	f, progs := newFakeV2(t, fakeOpts{})
	res := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](3), Access: "rwm"},
	}}
	if _, err := f.create(Config{Name: "d", Resources: res}); err != nil {
		t.Fatal(err)
	}
	if len(*progs) != 1 {
		t.Fatalf("%d programs attached", len(*progs))
	}
	prog := (*progs)[0]
	if !runDevFilter(t, prog, devChar, 1, 3, accRead|accWrite) {
		t.Error("/dev/null denied")
	}
	if runDevFilter(t, prog, devChar, 1, 5, accRead) {
		t.Error("/dev/zero allowed")
	}
}

func TestV1OnlyOptionsRejectedOnV2(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	for _, m := range []*specs.LinuxMemory{{Swappiness: ptr[uint64](10)}, {KernelTCP: ptr[int64](1 << 20)}} {
		_, err := f.create(Config{Name: "x", Resources: &specs.LinuxResources{Memory: m}})
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%+v: err = %v", m, err)
		}
	}
}
