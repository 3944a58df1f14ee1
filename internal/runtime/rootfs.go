package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// prepareRootfs builds the container's filesystem view and pivots into it.
func (p *initProc) prepareRootfs() error {
	rootfs := p.cfg.Rootfs
	steps := []struct {
		name string
		fn   func() error
	}{
		{"make mounts private", p.setPropagation},
		{"bind rootfs", func() error {
			if p.cfg.SharedMounts {
				return nil // chroot needs no mount point
			}
			return bindSelf(rootfs)
		}},
		{"mounts (proc, sys, dev, ...)", p.mountAll},
		{"device nodes", func() error { return p.createDevices(rootfs) }},
		{"console", p.setupConsole},
		{"hooks", p.createHooks},
		{"pivot_root", p.pivot},
		{"masked and read-only paths", p.protectPaths},
	}
	for _, s := range steps {
		if err := p.step(s.name, s.fn); err != nil {
			return err
		}
	}
	return nil
}

var propagationFlags = map[string]uintptr{
	"":            unix.MS_SLAVE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// setPropagation keeps mounts made in the container from reaching the host:
// / becomes a slave (or what rootfsPropagation asks) before anything is
// mounted. This is the mydocker bug that leaked /proc to systemd hosts.
func (p *initProc) setPropagation() error {
	if p.cfg.SharedMounts {
		return nil
	}
	flag, ok := propagationFlags[p.spec.Linux.RootfsPropagation]
	if !ok {
		return fmt.Errorf("unknown rootfsPropagation %q", p.spec.Linux.RootfsPropagation)
	}
	// Shared propagation is applied to the rootfs after pivot; the host's
	// own tree is always made a slave first.
	if flag&unix.MS_SHARED != 0 {
		flag = unix.MS_SLAVE | unix.MS_REC
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return fmt.Errorf("make / %s: %w", p.spec.Linux.RootfsPropagation, err)
	}
	return nil
}

// bindSelf turns the rootfs into a mount point, which pivot_root needs.
func bindSelf(rootfs string) error {
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s: %w", rootfs, err)
	}
	return nil
}

// mountFlags maps mount(8) options to flags; clear reports options that
// unset a flag.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"dirsync": {false, unix.MS_DIRSYNC}, "remount": {false, unix.MS_REMOUNT},
	"mand": {false, unix.MS_MANDLOCK}, "nomand": {true, unix.MS_MANDLOCK},
	"atime": {true, unix.MS_NOATIME}, "noatime": {false, unix.MS_NOATIME},
	"diratime": {true, unix.MS_NODIRATIME}, "nodiratime": {false, unix.MS_NODIRATIME},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"relatime": {false, unix.MS_RELATIME}, "norelatime": {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "nostrictatime": {true, unix.MS_STRICTATIME},
	"silent": {false, unix.MS_SILENT}, "loud": {true, unix.MS_SILENT},
}

// parsedMount is a spec mount split into flags, propagation and data.
type parsedMount struct {
	flags       uintptr
	propagation []uintptr
	data        []string
}

func parseMountOptions(opts []string) parsedMount {
	var pm parsedMount
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				pm.flags &^= f.flag
			} else {
				pm.flags |= f.flag
			}
			continue
		}
		if f, ok := propagationFlags[o]; ok && o != "" {
			pm.propagation = append(pm.propagation, f)
			continue
		}
		pm.data = append(pm.data, o)
	}
	return pm
}

func (p *initProc) mountAll() error {
	for _, m := range p.spec.Mounts {
		if err := p.mountOne(m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
	}
	return nil
}

// resolve returns the host path of a container path, with every symlink on
// the way resolved inside the rootfs: an image cannot point a mount outside.
func (p *initProc) resolve(ctrPath string) (string, error) {
	return securejoin.SecureJoin(p.cfg.Rootfs, ctrPath)
}

func (p *initProc) mountOne(m specs.Mount) error {
	if !filepath.IsAbs(m.Destination) {
		return fmt.Errorf("destination must be absolute")
	}
	dest, err := p.resolve(m.Destination)
	if err != nil {
		return err
	}
	pm := parseMountOptions(m.Options)
	typ := m.Type
	if pm.flags&unix.MS_BIND != 0 {
		typ = "bind"
	}
	switch typ {
	case "bind":
		return mountBind(m.Source, dest, pm)
	case "cgroup", "cgroup2":
		if err := p.inCgroup(); err != nil {
			return err
		}
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
		return mountCgroups(dest, pm, p.cfg.CgroupNS)
	default:
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
		data := strings.Join(pm.data, ",")
		if err := unix.Mount(m.Source, dest, typ, pm.flags, data); err != nil {
			return err
		}
		return applyPropagation(dest, pm.propagation)
	}
}

func mountBind(src, dest string, pm parsedMount) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := ensureMountPoint(dest, st.IsDir()); err != nil {
		return err
	}
	if err := unix.Mount(src, dest, "", pm.flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
		return err
	}
	// A bind mount ignores other flags on creation: remount to apply them,
	// keeping the flags the kernel locks on the source.
	if rest := pm.flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT); rest != 0 {
		var sfs unix.Statfs_t
		if err := unix.Statfs(dest, &sfs); err != nil {
			return err
		}
		locked := uintptr(sfs.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
		if err := unix.Mount("", dest, "", unix.MS_BIND|unix.MS_REMOUNT|rest|locked, ""); err != nil {
			return fmt.Errorf("remount: %w", err)
		}
	}
	return applyPropagation(dest, pm.propagation)
}

func ensureMountPoint(dest string, dir bool) error {
	if dir {
		return os.MkdirAll(dest, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func applyPropagation(dest string, flags []uintptr) error {
	for _, f := range flags {
		if err := unix.Mount("", dest, "", f, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// mountCgroups mounts the container's view of the cgroup hierarchies. On
// cgroup v2 that is one cgroup2 mount; on v1 a tmpfs with one mount per
// hierarchy the host has, each rooted (by the cgroup namespace) at the
// container's own cgroup.
//
// Without a cgroup namespace (containerd's CRI on cgroup v1 sends none) a
// fresh mount would show the host's root cgroups: the container's own
// directories are bind-mounted instead, as runc does, so it sees its limits.
func mountCgroups(dest string, pm parsedMount, cgroupNS bool) error {
	flags := pm.flags | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	own, err := ownCgroups()
	if err != nil && !cgroupNS {
		return err
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &sfs); err == nil && sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		if !cgroupNS {
			return bindCgroup(filepath.Join("/sys/fs/cgroup", own[""]), dest, flags)
		}
		return unix.Mount("cgroup2", dest, "cgroup2", flags, "")
	}
	hier, err := cgroupV1Hierarchies()
	if err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dest, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return err
	}
	for _, h := range hier {
		d := filepath.Join(dest, h.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if !cgroupNS {
			key := h.opts
			if h.fstype == "cgroup2" {
				key = ""
			}
			if path, ok := own[key]; ok {
				if err := bindCgroup(filepath.Join("/sys/fs/cgroup", h.name, path), d, flags); err != nil {
					return fmt.Errorf("bind %s hierarchy: %w", h.name, err)
				}
				continue
			}
		}
		if err := unix.Mount(h.fstype, d, h.fstype, flags, h.opts); err != nil {
			return fmt.Errorf("mount %s hierarchy: %w", h.name, err)
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		return unix.Mount("", dest, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	return nil
}

type cgroupHierarchy struct{ name, fstype, opts string }

// bindCgroup bind-mounts a cgroup directory, read-only when flags say so.
func bindCgroup(src, dest string, flags uintptr) error {
	if err := unix.Mount(src, dest, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("", dest, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}

// ownCgroups maps each hierarchy's controller list ("memory",
// "name=systemd"; "" for cgroup2) to this process's cgroup path in it,
// from /proc/self/cgroup.
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			own[parts[1]] = parts[2]
		}
	}
	return own, nil
}

// cgroupV1Hierarchies lists the host's cgroup mounts under /sys/fs/cgroup
// from mountinfo: name (the directory), type and the super options that
// name its controllers.
func cgroupV1Hierarchies() ([]cgroupHierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupHierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(fields) || len(fields) < 5 {
			continue
		}
		mp, fstype := fields[4], fields[sep+1]
		if (fstype != "cgroup" && fstype != "cgroup2") || filepath.Dir(mp) != "/sys/fs/cgroup" || seen[mp] {
			continue
		}
		seen[mp] = true
		var opts []string
		if fstype == "cgroup" {
			for _, o := range strings.Split(fields[sep+3], ",") {
				if o != "rw" && o != "ro" {
					opts = append(opts, o)
				}
			}
		}
		out = append(out, cgroupHierarchy{name: filepath.Base(mp), fstype: fstype, opts: strings.Join(opts, ",")})
	}
	return out, sc.Err()
}

// defaultDevices are the nodes every container gets (runtime-spec).
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

func (p *initProc) inUserNS() bool {
	for _, ns := range p.spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return true
		}
	}
	return false
}

// createDevices makes the device nodes and /dev's standard links. Inside a
// user namespace mknod is not allowed: the host node is bind-mounted.
func (p *initProc) createDevices(rootfs string) error {
	devs := append([]specs.LinuxDevice{}, defaultDevices...)
	devs = append(devs, p.spec.Linux.Devices...)
	for _, d := range devs {
		dest, err := p.resolve(d.Path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		if err := makeDevice(d, dest, p.inUserNS()); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	return p.devLinks()
}

func makeDevice(d specs.LinuxDevice, dest string, userns bool) error {
	if userns {
		if err := ensureMountPoint(dest, false); err != nil {
			return err
		}
		return unix.Mount(d.Path, dest, "", unix.MS_BIND, "")
	}
	var mode uint32
	switch d.Type {
	case "c", "u":
		mode = unix.S_IFCHR
	case "b":
		mode = unix.S_IFBLK
	case "p":
		mode = unix.S_IFIFO
	default:
		return fmt.Errorf("unknown device type %q", d.Type)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	_ = unix.Unlink(dest)
	if err := unix.Mknod(dest, mode|perm, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	if err := unix.Chmod(dest, perm); err != nil {
		return err
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	return unix.Lchown(dest, uid, gid)
}

func (p *initProc) devLinks() error {
	links := [][2]string{
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
		{"pts/ptmx", "/dev/ptmx"},
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	for _, l := range links {
		dest, err := p.resolve(l[1])
		if err != nil {
			return err
		}
		// /dev is our own tmpfs: a stale entry here is ours to replace.
		if fi, err := os.Lstat(dest); err == nil && !fi.IsDir() {
			_ = os.Remove(dest)
		}
		if err := os.Symlink(l[0], dest); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("link %s: %w", l[1], err)
		}
	}
	return nil
}

// pivot makes the rootfs the root: pivot_root(".", ".") stacks the old root
// under the new one, which is then made a slave and detached, so the unmount
// never propagates to the host.
func (p *initProc) pivot() error {
	root := p.cfg.Rootfs
	if p.cfg.SharedMounts {
		return enterByChroot(root)
	}
	if p.cfg.NoPivot {
		if err := unix.Chdir(root); err != nil {
			return err
		}
		if err := unix.Mount(root, "/", "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move rootfs: %w", err)
		}
		if err := unix.Chroot("."); err != nil {
			return err
		}
		return unix.Chdir("/")
	}
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return err
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	return p.finishRootPropagation()
}

func (p *initProc) finishRootPropagation() error {
	if flag := propagationFlags[p.spec.Linux.RootfsPropagation]; flag&unix.MS_SHARED != 0 {
		if err := unix.Mount("", "/", "", flag, ""); err != nil {
			return fmt.Errorf("make / %s: %w", p.spec.Linux.RootfsPropagation, err)
		}
	}
	return nil
}

// protectPaths applies the spec's sysctls (before /proc/sys turns read-only),
// masked and read-only paths, and a read-only root.
func (p *initProc) protectPaths() error {
	for k, v := range p.spec.Linux.Sysctl {
		path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", k, v, err)
		}
	}
	for _, path := range p.spec.Linux.ReadonlyPaths {
		if err := readonlyPath(path); err != nil {
			return fmt.Errorf("make %s read-only: %w", path, err)
		}
	}
	for _, path := range p.spec.Linux.MaskedPaths {
		if err := maskPath(path); err != nil {
			return fmt.Errorf("mask %s: %w", path, err)
		}
	}
	if p.spec.Root.Readonly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make root read-only: %w", err)
		}
	}
	return nil
}

func readonlyPath(path string) error {
	if err := unix.Mount(path, path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return err
	}
	locked := uintptr(sfs.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	return unix.Mount(path, path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC|locked, "")
}

// maskPath hides a file behind /dev/null or a directory behind an empty
// read-only tmpfs.
func maskPath(path string) error {
	err := unix.Mount("/dev/null", path, "", unix.MS_BIND, "")
	if errors.Is(err, unix.ENOTDIR) {
		err = unix.Mount("tmpfs", path, "tmpfs", unix.MS_RDONLY, "size=0k")
	}
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
