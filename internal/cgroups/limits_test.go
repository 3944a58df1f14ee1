package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cocin-dev/cocin/internal/specgen"
)

// Docker's flags, converted by specgen, land in the v2 files as Docker
// would write them (cgroup v2 cannot be exercised on this machine).
func TestV2DockerFlagsToFiles(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	l := specgen.Limits{Memory: 32 << 20, MemoryReservation: 16 << 20, NanoCpus: 5e8, CPUShares: 512,
		CpusetCpus: "0", CpusetMems: "0", PidsLimit: 10, BlkioWeight: 300}
	host := specgen.Host{CPUs: map[int]bool{0: true}, Mems: map[int]bool{0: true}, NumCPU: 1, SwapLimit: f.swapLimitSupported()}
	if err := l.Check(host); err != nil {
		t.Fatal(err)
	}
	res, err := l.Resources()
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.create(Config{Name: "ctr", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, c.paths[""], map[string]string{
		"memory.max": "33554432", "memory.swap.max": "33554432", "memory.low": "16777216",
		"cpu.max": "50000 100000", "cpu.weight": "59", // runc's shares→weight curve "cpuset.cpus": "0", "cpuset.mems": "0",
		"pids.max": "10", "io.weight": "2930\n", // 1+(300-10)*9999/990
	})
	// update -m 64m: the default swap follows (Check sets 2×memory again).
	l.Memory, l.MemorySwap = 64<<20, 0
	if err := l.Check(host); err != nil {
		t.Fatal(err)
	}
	res, _ = l.Resources()
	if err := c.Update(res); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, c.paths[""], map[string]string{"memory.max": "67108864", "memory.swap.max": "67108864"})
}

func TestV2OOMKillDisableRefused(t *testing.T) {
	f, _ := newFakeV2(t, fakeOpts{})
	l := specgen.Limits{Memory: 32 << 20, OomKillDisable: true}
	res, _ := l.Resources()
	if _, err := f.create(Config{Name: "ctr", Resources: res}); err == nil {
		t.Fatal("--oom-kill-disable accepted on cgroup v2")
	}
	if _, err := os.Stat(filepath.Join(f.root, "cocin", "ctr")); !os.IsNotExist(err) {
		t.Fatalf("refused create left its directory: %v", err)
	}
}

func TestSwapLimitSupported(t *testing.T) {
	v2, _ := newFakeV2(t, fakeOpts{})
	if !v2.swapLimitSupported() {
		t.Error("v2 with a memory controller: want swap limits")
	}
	v2nomem, _ := newFakeV2(t, fakeOpts{controllers: "cpu pids"})
	if v2nomem.swapLimitSupported() {
		t.Error("v2 without memory controller: want no swap limits")
	}
	v1 := newFakeV1(t, fakeOpts{})
	if v1.swapLimitSupported() {
		t.Error("v1 without memsw at the memory root: want no swap limits")
	}
	put(t, filepath.Join(v1.mounts["memory"], memswFile), "9223372036854771712")
	if !v1.swapLimitSupported() {
		t.Error("v1 with memsw: want swap limits")
	}
}
