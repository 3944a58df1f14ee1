package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Tests against this machine's real cgroupfs. They need root, create only
// cgroups below a random "cocin-test-<hex>" parent, and remove them (and
// check that they are gone) even when they fail.

func hostFS(t *testing.T) *fsys {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	f, err := host()
	if err != nil {
		t.Skip(err)
	}
	return f
}

// testParent returns a fresh parent name whose directories on every
// hierarchy of f are removed at the end of the test.
func testParent(t *testing.T, f *fsys) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	parent := "cocin-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		for _, r := range f.roots() {
			if err := f.removeTree(filepath.Join(r, parent)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		left, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		more, _ := filepath.Glob("/sys/fs/cgroup/" + parent)
		if left = append(left, more...); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	return parent
}

// roots lists the hierarchy roots of f (tests only).
func (f *fsys) roots() []string {
	if f.version == V2 {
		return []string{f.root}
	}
	return f.v1MountPoints()
}

// startChild starts sh running script once a line arrives on its stdin,
// so that it can be moved into a cgroup first. It is killed by PID at the
// end of the test if still alive.
func startChild(t *testing.T, script string, attr *syscall.SysProcAttr, out io.Writer) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read go; "+script)
	cmd.SysProcAttr = attr
	cmd.Stdout, cmd.Stderr = out, out
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(cmd.Process.Pid, unix.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd, in
}

// procState is the one-letter State of /proc/PID/status.
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(int64(pid)) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "State:"); ok {
			return strings.Fields(v)[0]
		}
	}
	return "?"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestHostV1Lifecycle(t *testing.T) {
	f := hostFS(t)
	if f.version != V1 {
		t.Skip("host is not cgroup v1")
	}
	parent := testParent(t, f)
	c, err := f.create(Config{Parent: parent, Name: "ctr", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](32 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](10)},
		CPU:    &specs.LinuxCPU{Quota: ptr[int64](50000), Period: ptr[uint64](100000)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Paths()
	if want := filepath.Join(f.mounts["memory"], parent, "ctr"); p["memory"] != want {
		t.Fatalf("memory path %q, want %q", p["memory"], want)
	}
	expectFiles(t, p["memory"], map[string]string{"memory.limit_in_bytes": "33554432\n"})
	expectFiles(t, p["pids"], map[string]string{"pids.max": "10\n"})
	expectFiles(t, p["cpu"], map[string]string{"cpu.cfs_quota_us": "50000\n", "cpu.cfs_period_us": "100000\n"})

	// Load from "another process" sees the same cgroup.
	loaded, err := f.load(parent, "ctr")
	if err != nil || len(loaded.Paths()) != len(p) {
		t.Fatalf("Load: %v, %v", loaded, err)
	}

	file := filepath.Join(t.TempDir(), "data")
	cmd, in := startChild(t, "head -c 1048576 /dev/zero > "+file+"; while :; do :; done", nil, nil)
	pid := cmd.Process.Pid
	if err := c.AddProc(pid); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("go\n"))
	if pids, err := c.Procs(); err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Procs() = %v, %v; want %d in it", pids, err, pid)
	}
	cgLine, _ := os.ReadFile("/proc/" + itoa(int64(pid)) + "/cgroup")
	if !strings.Contains(string(cgLine), "memory:/"+parent+"/ctr") {
		t.Errorf("/proc/%d/cgroup:\n%s", pid, cgLine)
	}

	waitFor(t, "memory and cpu usage", func() bool {
		s, err := c.Stats()
		return err == nil && s.Memory.Usage > 0 && s.CPU.UsageNS > 0 && s.Pids.Current >= 1
	})
	s, _ := c.Stats()
	if s.Memory.Limit != 32<<20 || s.Pids.Limit != 10 {
		t.Errorf("Stats limits: memory %d, pids %d", s.Memory.Limit, s.Pids.Limit)
	}
	t.Logf("stats: %+v", *s)

	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st := procState(t, pid); st == "R" {
		t.Errorf("frozen busy process has State %s", st)
	}
	if frozen, _ := loaded.Frozen(); !frozen {
		t.Error("Frozen() false after Freeze")
	}
	if err := c.Thaw(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the thawed process to run", func() bool { return procState(t, pid) == "R" })
	if oom, err := c.OOMKilled(); err != nil || oom {
		t.Errorf("OOMKilled() = %v, %v", oom, err)
	}

	if err := loaded.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("child after Kill: %v", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range p {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Destroy", d)
		}
	}
	if err := f.removeParent(parent); err != nil {
		t.Fatal(err)
	}
}

func TestHostCpuset(t *testing.T) {
	f := hostFS(t)
	parent := testParent(t, f)
	c, err := f.create(Config{Parent: parent, Name: "cs", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := c.dir("cpuset")
	expectFiles(t, dir, map[string]string{"cpuset.cpus": "0\n", "cpuset.mems": "0\n"})
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// Values the kernel refuses fail Create, name the file and value, and leave
// no directory behind.
func TestHostKernelRefuses(t *testing.T) {
	f := hostFS(t)
	cases := []struct {
		name, file, value string
		res               *specs.LinuxResources
	}{
		{"cpu quota below 1ms", map[Version]string{V1: "cpu.cfs_quota_us", V2: "cpu.max"}[f.version],
			map[Version]string{V1: "10", V2: "10 100000"}[f.version],
			&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](10), Period: ptr[uint64](100000)}}},
		{"cpus not present", "cpuset.cpus", "4000", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "4000"}}},
	}
	if f.version == V1 {
		cases = append(cases, struct {
			name, file, value string
			res               *specs.LinuxResources
		}{"shares clamped by the kernel", "cpu.shares", "", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1)}}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := testParent(t, f)
			_, err := f.create(Config{Parent: parent, Name: "bad", Resources: tc.res})
			if err == nil {
				t.Fatal("Create succeeded")
			}
			t.Log(err)
			var we *WriteError
			switch {
			case tc.value == "":
				if !strings.Contains(err.Error(), tc.file) {
					t.Errorf("error does not name %s", tc.file)
				}
			case !errors.As(err, &we):
				t.Errorf("not a *WriteError: %v", err)
			case filepath.Base(we.Path) != tc.file || we.Value != tc.value:
				t.Errorf("WriteError names %s = %q, want %s = %q", we.Path, we.Value, tc.file, tc.value)
			}
			for _, r := range f.roots() {
				if _, err := os.Stat(filepath.Join(r, parent)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s/%s left behind", r, parent)
				}
			}
		})
	}
}

// blockDev returns the numbers of a real disk of this machine.
func blockDev(t *testing.T) (maj, min int64) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "loop") || strings.HasPrefix(e.Name(), "zram") || strings.HasPrefix(e.Name(), "ram") {
			continue
		}
		b, err := os.ReadFile("/sys/block/" + e.Name() + "/dev")
		if err != nil {
			continue
		}
		if _, err := fmt.Sscanf(string(b), "%d:%d", &maj, &min); err == nil {
			return maj, min
		}
	}
	t.Skip("no disk found in /sys/block")
	return 0, 0
}

// deviceProbe is run inside a device-restricted cgroup: /dev/null must
// work, /dev/zero must not.
const deviceProbe = "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok; exit 0"

func checkDeviceProbe(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "null-ok") || strings.Contains(out, "zero-ok") || !strings.Contains(out, "ermitted") {
		t.Errorf("device probe output:\n%s", out)
	}
}

func TestHostV1BlkioAndDevices(t *testing.T) {
	f := hostFS(t)
	if f.version != V1 {
		t.Skip("host is not cgroup v1")
	}
	maj, min := blockDev(t)
	parent := testParent(t, f)
	i := func(n int64) *int64 { return &n }
	res := &specs.LinuxResources{
		BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(maj, min), Rate: 1 << 20}}},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "rwm"}, // /dev/null only
		},
	}
	c, err := f.create(Config{Parent: parent, Name: "io", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, c.paths["blkio"], map[string]string{"blkio.throttle.read_bps_device": devNum(dev(maj, min)) + " 1048576\n"})
	expectFiles(t, c.paths["devices"], map[string]string{"devices.list": "c 1:3 rwm\n"})
	if exists(c.paths["blkio"], "blkio.bfq.weight") {
		if err := c.Update(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](500)}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := readFile(c.paths["blkio"], "blkio.bfq.weight"); !strings.HasSuffix(got, "500") {
			t.Errorf("blkio.bfq.weight = %q", got)
		}
	}
	var out strings.Builder
	cmd, in := startChild(t, deviceProbe, nil, &out)
	if err := c.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("go\n"))
	_ = cmd.Wait()
	checkDeviceProbe(t, out.String())
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// cgroup2Mount finds this machine's cgroup2 mount: the host layout on v2
// hosts, /sys/fs/cgroup/unified (no controllers) on hybrid ones.
func cgroup2Mount(t *testing.T) *fsys {
	t.Helper()
	f := hostFS(t)
	if f.version == V2 {
		return f
	}
	var st unix.Statfs_t
	const unified = "/sys/fs/cgroup/unified"
	if err := unix.Statfs(unified, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	return newV2(unified)
}

// TestHostV2Core runs the v2 paths that need no controller on the real
// cgroup2 hierarchy (on hybrid hosts the otherwise unused unified one):
// CLONE_INTO_CGROUP through OpenDirFD, the eBPF device filter and its
// replacement on Update, freeze, cgroup.kill, cpu.stat and removal.
func TestHostV2Core(t *testing.T) {
	f := cgroup2Mount(t)
	parent := testParent(t, f)
	i := func(n int64) *int64 { return &n }
	nullOnly := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "rwm"},
	}
	c, err := f.create(Config{Parent: parent, Name: "core", Resources: &specs.LinuxResources{Devices: nullOnly}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(script string) (*exec.Cmd, io.WriteCloser, *strings.Builder) {
		fd, err := c.OpenDirFD()
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		var out strings.Builder
		cmd, in := startChild(t, script, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}, &out)
		return cmd, in, &out
	}
	cmd, in, out := run(deviceProbe)
	in.Write([]byte("go\n"))
	_ = cmd.Wait()
	checkDeviceProbe(t, out.String())

	// Update replaces the filter: /dev/zero now readable, one program left.
	allowZero := append(slices.Clone(nullOnly), specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(1), Minor: i(5), Access: "r"})
	if err := c.Update(&specs.LinuxResources{Devices: allowZero}); err != nil {
		t.Fatal(err)
	}
	cmd, in, out = run(deviceProbe)
	in.Write([]byte("go\n"))
	_ = cmd.Wait()
	if !strings.Contains(out.String(), "zero-ok") {
		t.Errorf("after Update:\n%s", out)
	}
	dirFD, err := unix.Open(c.paths[""], unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := attachedDeviceProgs(dirFD)
	unix.Close(dirFD)
	if err != nil || len(ids) != 1 {
		t.Errorf("attached programs after Update: %v, %v", ids, err)
	}

	cmd, in, _ = run("while :; do :; done")
	pid := cmd.Process.Pid
	if pids, err := c.Procs(); err != nil || !slices.Equal(pids, []int{pid}) {
		t.Fatalf("Procs() = %v, %v; want [%d]: the child must start inside", pids, err, pid)
	}
	in.Write([]byte("go\n"))
	waitFor(t, "cpu usage", func() bool { s, err := c.Stats(); return err == nil && s.CPU.UsageNS > 0 })
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st := procState(t, pid); st == "R" {
		t.Errorf("frozen busy process has State %s", st)
	}
	if err := c.Thaw(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the thawed process to run", func() bool { return procState(t, pid) == "R" })
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("child after Kill: %v", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := f.removeParent(parent); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHostCreateDestroy measures one container cgroup's life with
// Docker-like limits on this machine's layout.
func BenchmarkHostCreateDestroy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	f, err := host()
	if err != nil {
		b.Skip(err)
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	parent := "cocin-test-" + hex.EncodeToString(rnd)
	defer func() {
		for _, r := range f.roots() {
			_ = f.removeTree(filepath.Join(r, parent))
		}
	}()
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](100)},
	}
	for i := 0; b.Loop(); i++ {
		c, err := f.create(Config{Parent: parent, Name: "b" + itoa(int64(i)), Resources: res})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
}
