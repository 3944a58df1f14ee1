package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Version is the cgroup hierarchy layout in use.
type Version int

const (
	V1 Version = 1 // one hierarchy per controller (legacy or hybrid hosts)
	V2 Version = 2 // the unified hierarchy
)

func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

// mountRoot is where every distribution mounts cgroupfs.
const mountRoot = "/sys/fs/cgroup"

// v1Controllers are the v1 controllers a container gets a directory on
// (those that are mounted). The others (net_cls, perf_event, rdma,
// name=systemd) are left alone.
var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb"}

// Detect reports the layout of this host: V2 when /sys/fs/cgroup itself is a
// cgroup2 mount, V1 otherwise (including hybrid hosts).
func Detect() (Version, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(mountRoot, &st); err != nil {
		return 0, fmt.Errorf("cgroups: statfs %s: %w", mountRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return V2, nil
	}
	return V1, nil
}

// host is the real cgroupfs, detected once on first use rather than at init
// so that importing the package costs nothing.
var host = sync.OnceValues(detectHost)

func detectHost() (*fsys, error) {
	v, err := Detect()
	if err != nil {
		return nil, err
	}
	if v == V2 {
		return newV2(mountRoot), nil
	}
	mounts, err := v1Mounts()
	if err != nil {
		return nil, err
	}
	return newV1(mounts), nil
}

// v1Mounts maps each v1 controller to its mount point as listed in
// /proc/self/mountinfo; the paths are never assumed.
func v1Mounts() (map[string]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		return nil, fmt.Errorf("cgroups: read mountinfo: %w", err)
	}
	mounts := map[string]string{}
	for _, m := range infos {
		for _, opt := range strings.Split(m.VFSOptions, ",") {
			if _, seen := mounts[opt]; !seen && isV1Controller(opt) {
				mounts[opt] = m.Mountpoint
			}
		}
	}
	if len(mounts) == 0 {
		return nil, errors.New("cgroups: no cgroup v1 controller is mounted and " + mountRoot + " is not cgroup2")
	}
	return mounts, nil
}

func isV1Controller(name string) bool {
	for _, c := range v1Controllers {
		if c == name {
			return true
		}
	}
	return false
}

// fsys is one cgroupfs layout: the host's, or a fake tree in tests.
type fsys struct {
	version Version
	root    string            // V2: mount point of the unified hierarchy
	mounts  map[string]string // V1: controller → mount point

	// populate, set only by tests, fills a directory just made with the
	// files the kernel would have created in it.
	populate func(dir string) error
	// attachDevices installs the v2 device filter; tests replace it because
	// a fake tree has no cgroup to attach an eBPF program to.
	attachDevices func(dir string, prog []bpfInsn) error
	// rmdir removes one empty cgroup directory; tests, whose directories
	// hold ordinary files, replace it.
	rmdir func(dir string) error
}

func newV2(root string) *fsys {
	return &fsys{version: V2, root: root, attachDevices: attachDeviceFilter, rmdir: unix.Rmdir}
}

func newV1(mounts map[string]string) *fsys {
	return &fsys{version: V1, mounts: mounts, rmdir: unix.Rmdir}
}

// mkdir makes one cgroup directory; created is false when it already existed.
func (f *fsys) mkdir(dir string) (created bool, err error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if f.populate != nil {
		if err := f.populate(dir); err != nil {
			_ = os.RemoveAll(dir) // only ever a fake tree here
			return false, err
		}
	}
	return true, nil
}
