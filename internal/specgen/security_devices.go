package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceFromPath describes the host node at path, to appear at ctr.
func deviceFromPath(path, ctr string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var t string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		t = "c"
	case unix.S_IFBLK:
		t = "b"
	default:
		return specs.LinuxDevice{}, errors.New("not a device node")
	}
	mode := fs.FileMode(st.Mode & 0o777)
	return specs.LinuxDevice{
		Path: ctr, Type: t, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: ptr(st.Uid), GID: ptr(st.Gid),
	}, nil
}

// hostDevices lists the device nodes under dir, as --privileged exposes
// them; the runtime's own /dev entries (pts, shm, mqueue, console) are left
// out, as runc does.
func hostDevices(dir string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // a node that vanished or is unreadable is not needed
		}
		switch {
		case d.IsDir() && p != dir && slices.Contains([]string{"pts", "shm", "mqueue", "fd", ".lxc", ".udev"}, d.Name()):
			return filepath.SkipDir
		case d.IsDir() || d.Type()&fs.ModeSymlink != 0 || p == "/dev/console":
			return nil
		case d.Type()&fs.ModeDevice == 0:
			return nil
		}
		dev, err := deviceFromPath(p, p)
		if err == nil {
			out = append(out, dev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list host devices: %w", err)
	}
	return out, nil
}

// applyDevices adds --device HOST[:CTR][:rwm] entries: the node in the
// container and its permissions in the device cgroup. A directory adds
// every device under it.
func applyDevices(s *specs.Spec, list []string) error {
	for _, v := range list {
		host, ctr, perms, err := parseDevice(v)
		if err != nil {
			return fmt.Errorf("invalid --device %q: %w", v, err)
		}
		devs, err := devicesAt(host, ctr)
		if err != nil {
			return fmt.Errorf("invalid --device %q: %w", v, err)
		}
		for _, d := range devs {
			s.Linux.Devices = slices.DeleteFunc(s.Linux.Devices, func(o specs.LinuxDevice) bool { return o.Path == d.Path })
			s.Linux.Devices = append(s.Linux.Devices, d)
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
				Allow: true, Type: d.Type, Major: ptr(d.Major), Minor: ptr(d.Minor), Access: perms,
			})
		}
	}
	return nil
}

func parseDevice(v string) (host, ctr, perms string, err error) {
	parts := strings.Split(v, ":")
	perms = "rwm"
	switch {
	case len(parts) == 3:
		host, ctr, perms = parts[0], parts[1], parts[2]
	case len(parts) == 2 && validPerms(parts[1]):
		host, perms = parts[0], parts[1]
	case len(parts) == 2:
		host, ctr = parts[0], parts[1]
	case len(parts) == 1:
		host = parts[0]
	default:
		return "", "", "", errors.New("want HOST[:CONTAINER][:PERMISSIONS]")
	}
	if ctr == "" {
		ctr = host
	}
	if !filepath.IsAbs(host) || !filepath.IsAbs(ctr) {
		return "", "", "", errors.New("device paths must be absolute")
	}
	if !validPerms(perms) {
		return "", "", "", fmt.Errorf("bad permissions %q: use a combination of r, w and m", perms)
	}
	return filepath.Clean(host), filepath.Clean(ctr), perms, nil
}

func validPerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) {
			return false
		}
	}
	return true
}

func devicesAt(host, ctr string) ([]specs.LinuxDevice, error) {
	fi, err := os.Stat(host)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		d, err := deviceFromPath(host, ctr)
		if err != nil {
			return nil, err
		}
		return []specs.LinuxDevice{d}, nil
	}
	devs, err := hostDevices(host)
	if err != nil {
		return nil, err
	}
	for i := range devs {
		rel, _ := filepath.Rel(host, devs[i].Path)
		devs[i].Path = filepath.Join(ctr, rel)
	}
	return devs, nil
}

// applyDeviceCgroupRules adds --device-cgroup-rule "TYPE MAJOR:MINOR PERMS"
// (type a, b or c; * for any number) to the device cgroup.
func applyDeviceCgroupRules(s *specs.Spec, list []string) error {
	for _, v := range list {
		r, err := ParseDeviceCgroupRule(v)
		if err != nil {
			return fmt.Errorf("invalid --device-cgroup-rule %q: %w", v, err)
		}
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, r)
	}
	return nil
}

// ParseDeviceCgroupRule parses one device cgroup rule as Docker writes it.
func ParseDeviceCgroupRule(v string) (specs.LinuxDeviceCgroup, error) {
	f := strings.Fields(v)
	r := specs.LinuxDeviceCgroup{Allow: true}
	if len(f) != 3 {
		return r, errors.New(`want "TYPE MAJOR:MINOR PERMISSIONS", e.g. "c 1:3 rwm"`)
	}
	if f[0] != "a" && f[0] != "b" && f[0] != "c" {
		return r, fmt.Errorf("device type %q: use a, b or c", f[0])
	}
	r.Type = f[0]
	maj, min, ok := strings.Cut(f[1], ":")
	if !ok {
		return r, fmt.Errorf("device numbers %q: want MAJOR:MINOR", f[1])
	}
	var err error
	if r.Major, err = deviceNumber(maj); err != nil {
		return r, err
	}
	if r.Minor, err = deviceNumber(min); err != nil {
		return r, err
	}
	if !validPerms(f[2]) {
		return r, fmt.Errorf("permissions %q: use a combination of r, w and m", f[2])
	}
	r.Access = f[2]
	return r, nil
}

func deviceNumber(s string) (*int64, error) {
	if s == "*" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("device number %q: want a number or *", s)
	}
	return &n, nil
}

// namespacedSysctl tells whether a sysctl belongs to a namespace the
// container has of its own (Docker's list); others would change the host.
func namespacedSysctl(s *specs.Spec, key string) bool {
	has := func(t specs.LinuxNamespaceType) bool {
		return slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == t && n.Path == "" })
	}
	switch {
	case slices.Contains([]string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}, key),
		strings.HasPrefix(key, "fs.mqueue."):
		return has(specs.IPCNamespace)
	case strings.HasPrefix(key, "net."):
		return has(specs.NetworkNamespace)
	}
	return false
}

func applySysctls(s *specs.Spec, list []string) error {
	for _, v := range list {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid --sysctl %q: want KEY=VALUE", v)
		}
		if strings.Contains(k, "/") || slices.Contains(strings.Split(k, "."), "") {
			return fmt.Errorf("invalid --sysctl %q: bad key", v)
		}
		if !namespacedSysctl(s, k) {
			return fmt.Errorf("invalid --sysctl %q: %s is not namespaced for this container (allowed: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)", v, k)
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		s.Linux.Sysctl[k] = val
	}
	return nil
}

// ParseDevice splits a --device value into host path, container path and
// cgroup permissions (inspect shows them as Docker's DeviceMapping).
func ParseDevice(v string) (host, ctr, perms string, err error) { return parseDevice(v) }
