package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Resource limits on this machine's cgroup v1: each test reads the
// container's own cgroup files to see that the kernel applies the limit.

// v1Dir is the container's directory on one v1 controller.
func v1Dir(t *testing.T, ctrl, id string) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup", ctrl, cgroupParent, id)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no cgroup v1 %s directory: %v", ctrl, err)
	}
	return dir
}

func readCgroupInt(t *testing.T, dir, file string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return n
}

// startLimited runs a detached container and returns its full ID; it is
// removed when the test ends.
func startLimited(t *testing.T, args ...string) string {
	t.Helper()
	name := uniqueName("res")
	mustRun(t, append([]string{"run", "-d", "--name", name}, args...)...)
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	return strings.TrimSpace(mustRun(t, "inspect", "-f", "{{.Id}}", name).Stdout)
}

func TestResourcesOOMKilled(t *testing.T) {
	t.Parallel()
	name := uniqueName("oom")
	r := cocin(t, "run", "--name", name, "-m", "32m", "busybox", "sh", "-c", "tail /dev/zero")
	defer cocin(t, "rm", "-f", name)
	expectCode(t, r, 137)
	out := mustRun(t, "inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}", name).Stdout
	if got := strings.TrimSpace(out); got != "true 137 33554432" {
		t.Fatalf("inspect: %q, want OOMKilled true, exit 137, Memory 33554432", got)
	}
}

func TestResourcesPidsLimit(t *testing.T) {
	t.Parallel()
	// The fork loop runs in a subshell: ash may give up when fork fails,
	// and the container must outlive it to be measured.
	id := startLimited(t, "--pids-limit", "8", "busybox", "sh", "-c",
		"(i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done) 2>/dev/null; sleep 60")
	dir := v1Dir(t, "pids", id)
	refused := func() bool {
		ev, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
		f := strings.Fields(string(ev))
		return len(f) == 2 && f[0] == "max" && f[1] != "0"
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !refused() {
		time.Sleep(100 * time.Millisecond)
	}
	if !refused() {
		t.Fatal("pids.events: the kernel refused no fork under --pids-limit 8")
	}
	time.Sleep(300 * time.Millisecond) // let the loop's subshell end
	n := readCgroupInt(t, dir, "pids.current")
	if n > 8 || n < 6 {
		t.Fatalf("pids.current = %d, want the limit 8 minus the finished loop", n)
	}
	out := mustRun(t, "stats", "--no-stream", "--format", "{{.PIDs}}", id).Stdout
	if strings.TrimSpace(out) != strconv.FormatInt(n, 10) {
		t.Fatalf("stats PIDs = %q, want %d", out, n)
	}
}

// TestResourcesCPUQuota measures a busy loop under --cpus 0.5 from
// cpuacct.usage over 2 s. The machine is shared, so the loop may get less
// than its quota, but never clearly more.
func TestResourcesCPUQuota(t *testing.T) {
	t.Parallel()
	id := startLimited(t, "--cpus", "0.5", "busybox", "sh", "-c", "while :; do :; done")
	dir := v1Dir(t, "cpuacct", id)
	time.Sleep(300 * time.Millisecond)
	u0, t0 := readCgroupInt(t, dir, "cpuacct.usage"), time.Now()
	time.Sleep(2 * time.Second)
	u1, t1 := readCgroupInt(t, dir, "cpuacct.usage"), time.Now()
	ratio := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	t.Logf("busy loop under --cpus 0.5 used %.3f CPUs", ratio)
	if ratio > 0.6 || ratio < 0.25 {
		t.Fatalf("used %.3f CPUs, want about 0.5", ratio)
	}
	cpu := v1Dir(t, "cpu", id)
	if q, p := readCgroupInt(t, cpu, "cpu.cfs_quota_us"), readCgroupInt(t, cpu, "cpu.cfs_period_us"); q != 50000 || p != 100000 {
		t.Fatalf("quota/period = %d/%d, want 50000/100000", q, p)
	}
}

func TestResourcesCpuset(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "run", "--rm", "--cpuset-cpus", "0", "busybox", "grep", "Cpus_allowed_list", "/proc/self/status").Stdout
	if f := strings.Fields(out); len(f) != 2 || f[1] != "0" {
		t.Fatalf("inside --cpuset-cpus 0: %q", out)
	}
}

func TestResourcesUpdateMemory(t *testing.T) {
	t.Parallel()
	id := startLimited(t, "-m", "64m", "busybox", "sleep", "60")
	dir := v1Dir(t, "memory", id)
	if n := readCgroupInt(t, dir, "memory.limit_in_bytes"); n != 64<<20 {
		t.Fatalf("memory.limit_in_bytes = %d before update", n)
	}
	mustRun(t, "update", "-m", "128m", "--pids-limit", "30", id)
	if n := readCgroupInt(t, dir, "memory.limit_in_bytes"); n != 128<<20 {
		t.Fatalf("memory.limit_in_bytes = %d after update -m 128m", n)
	}
	if n := readCgroupInt(t, v1Dir(t, "pids", id), "pids.max"); n != 30 {
		t.Fatalf("pids.max = %d after update --pids-limit 30", n)
	}
	out := mustRun(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", id).Stdout
	if strings.TrimSpace(out) != "134217728 30" {
		t.Fatalf("inspect HostConfig after update: %q", out)
	}
	if r := cocin(t, "update", "-m", "3m", id); r.Code == 0 || !strings.Contains(r.Stderr, "6MB") {
		t.Fatalf("update -m 3m: %s", r)
	}
	if n := readCgroupInt(t, dir, "memory.limit_in_bytes"); n != 128<<20 {
		t.Fatalf("a refused update changed the limit to %d", n)
	}
}

func TestResourcesCgroupRemovedWithContainer(t *testing.T) {
	t.Parallel()
	name := uniqueName("rescg")
	mustRun(t, "run", "-d", "--name", name, "-m", "32m", "--cpus", "0.5", "--pids-limit", "10", "busybox", "sleep", "60")
	id := strings.TrimSpace(mustRun(t, "inspect", "-f", "{{.Id}}", name).Stdout)
	ctrls := []string{"memory", "cpu", "cpuacct", "pids", "cpuset", "blkio", "devices", "freezer"}
	for _, c := range ctrls {
		v1Dir(t, c, id)
	}
	mustRun(t, "rm", "-f", name)
	for _, c := range ctrls {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, cgroupParent, id)); !os.IsNotExist(err) {
			t.Errorf("%s cgroup still there after rm (%v)", c, err)
		}
	}
}

// TestResourcesBadValues: refused with 125 before any container exists.
func TestResourcesBadValues(t *testing.T) {
	t.Parallel()
	bad := [][]string{
		{"-m", "3m"}, {"-m", "-5m"}, {"-m", "12x"}, {"--memory-swap", "64m"},
		{"-m", "64m", "--memory-swap", "32m"}, {"--cpus", "0.5", "--cpu-quota", "50000"},
		{"--cpus", "99"}, {"--cpuset-cpus", "64"}, {"--cpuset-cpus", "a-b"}, {"--cpuset-mems", "7"},
		{"--cpu-period", "10"}, {"--pids-limit", "-3"}, {"--blkio-weight", "5"},
		{"--memory-reservation", "128m", "-m", "64m"}, {"--device-read-bps", "/dev/null:1m"},
	}
	for _, flags := range bad {
		name := uniqueName("bad")
		args := append(append([]string{"run", "--name", name}, flags...), "busybox", "true")
		r := cocin(t, args...)
		expectEngineError(t, r)
		if !strings.HasPrefix(r.Stderr, "cocin: ") {
			t.Errorf("%v: stderr %q", flags, r.Stderr)
		}
		if r := cocin(t, "inspect", name); r.Code == 0 {
			t.Errorf("%v: a container was left behind", flags)
			cocin(t, "rm", "-f", name)
		}
	}
}
