package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fake cgroupfs trees: directories with the files the kernel would create,
// so the writers can be checked file by file without root or a kernel.

type fakeOpts struct {
	controllers string // v2: what the root delegates
	bfq         bool   // v2 io.bfq.weight / v1 blkio.bfq.weight present
	noSwap      bool   // swap accounting off
	comount     bool   // v1: cpu and cpuacct share a hierarchy
	skipV1      string // v1: controller not mounted
}

func put(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expectFiles checks exact file contents below dir.
func expectFiles(t testing.TB, dir string, want map[string]string) {
	t.Helper()
	for file, w := range want {
		if got := get(t, dir, file); got != w {
			t.Errorf("%s = %q, want %q", file, got, w)
		}
	}
}

func writeAll(dir string, files map[string]string) error {
	for f, c := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

var v2Files = map[string]map[string]string{
	"": {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.freeze": "0",
		"cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": "", "cgroup.type": "domain",
		"cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"},
	"memory": {"memory.max": "max", "memory.low": "0", "memory.high": "max", "memory.swap.max": "max",
		"memory.current": "0", "memory.swap.current": "0", "memory.stat": "", "memory.events": "oom_kill 0\n"},
	"cpu":    {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0"},
	"cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
	"pids":   {"pids.max": "max", "pids.current": "0"},
	"io":     {"io.max": "", "io.stat": ""},
}

// newFakeV2 returns a v2 layout rooted in a temp dir. populate gives a new
// directory the interface files of the controllers its parent enables.
func newFakeV2(t testing.TB, o fakeOpts) (*fsys, *[][]bpfInsn) {
	root := t.TempDir()
	if o.controllers == "" {
		o.controllers = "cpuset cpu io memory pids"
	}
	put(t, filepath.Join(root, "cgroup.controllers"), o.controllers)
	put(t, filepath.Join(root, "cgroup.subtree_control"), o.controllers)
	f := newV2(root)
	f.rmdir = os.RemoveAll
	f.populate = func(dir string) error {
		sub, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "cgroup.subtree_control"))
		if err != nil {
			return err
		}
		ctrls := strings.Fields(strings.ReplaceAll(string(sub), "+", ""))
		if err := writeAll(dir, v2Files[""]); err != nil {
			return err
		}
		if err := writeAll(dir, map[string]string{"cgroup.controllers": strings.Join(ctrls, " ")}); err != nil {
			return err
		}
		for _, c := range ctrls {
			if err := writeAll(dir, v2Files[c]); err != nil {
				return err
			}
			if c == "io" {
				w := map[bool]string{false: "io.weight", true: "io.bfq.weight"}[o.bfq]
				if err := writeAll(dir, map[string]string{w: "default 100"}); err != nil {
					return err
				}
			}
		}
		if o.noSwap {
			os.Remove(filepath.Join(dir, "memory.swap.max"))
		}
		return nil
	}
	var progs [][]bpfInsn
	f.attachDevices = func(dir string, prog []bpfInsn) error {
		progs = append(progs, prog)
		return nil
	}
	return f, &progs
}

var v1Files = map[string]map[string]string{
	"cpu": {"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000", "cpu.cfs_burst_us": "0",
		"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0", "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"},
	"cpuacct": {"cpuacct.usage": "0", "cpuacct.usage_user": "0", "cpuacct.usage_sys": "0", "cpuacct.stat": "user 0\nsystem 0\n"},
	"cpuset":  {"cpuset.cpus": "", "cpuset.mems": ""},
	"memory": {"memory.limit_in_bytes": "9223372036854771712", "memory.soft_limit_in_bytes": "9223372036854771712",
		"memory.memsw.limit_in_bytes": "9223372036854771712", "memory.memsw.usage_in_bytes": "0",
		"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "memory.swappiness": "60",
		"memory.usage_in_bytes": "0", "memory.max_usage_in_bytes": "0", "memory.stat": "", "memory.kmem.tcp.limit_in_bytes": "9223372036854771712"},
	"devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
	"freezer": {"freezer.state": "THAWED"},
	"blkio": {"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "", "blkio.throttle.read_iops_device": "",
		"blkio.throttle.write_iops_device": "", "blkio.throttle.io_service_bytes_recursive": "",
		"blkio.bfq.weight": "100", "blkio.bfq.weight_device": ""},
	"pids": {"pids.max": "max", "pids.current": "0"},
}

// newFakeV1 mounts each controller at <tmp>/<name> (cpu and cpuacct at
// <tmp>/cpu,cpuacct when comounted). The hierarchy roots hold only what the
// kernel's roots hold that we read: cpuset.cpus/mems.
func newFakeV1(t testing.TB, o fakeOpts) *fsys {
	root := t.TempDir()
	mounts := map[string]string{}
	for _, c := range v1Controllers {
		if c == o.skipV1 {
			continue
		}
		dir := filepath.Join(root, c)
		if o.comount && (c == "cpu" || c == "cpuacct") {
			dir = filepath.Join(root, "cpu,cpuacct")
		}
		mounts[c] = dir
		put(t, filepath.Join(dir, "cgroup.procs"), "")
	}
	if d, ok := mounts["cpuset"]; ok {
		put(t, filepath.Join(d, "cpuset.cpus"), "0-3")
		put(t, filepath.Join(d, "cpuset.mems"), "0")
	}
	f := newV1(mounts)
	f.rmdir = os.RemoveAll
	f.populate = func(dir string) error {
		if err := writeAll(dir, map[string]string{"cgroup.procs": "", "tasks": ""}); err != nil {
			return err
		}
		for ctrl, mnt := range mounts {
			if strings.HasPrefix(dir, mnt+"/") {
				if err := writeAll(dir, v1Files[ctrl]); err != nil {
					return err
				}
			}
		}
		if o.noSwap {
			os.Remove(filepath.Join(dir, "memory.memsw.limit_in_bytes"))
			os.Remove(filepath.Join(dir, "memory.memsw.usage_in_bytes"))
		}
		return nil
	}
	return f
}

// treeNames lists every directory below root (relative), to check that a
// failed Create left nothing behind.
func treeDirs(t testing.TB, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root {
			rel, _ := filepath.Rel(root, p)
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func ptr[T any](v T) *T { return &v }
