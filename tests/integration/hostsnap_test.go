package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hostSnapshot is what the suite could leave behind on the host. Each field
// holds only items attributable to cocin or to this suite.
type hostSnapshot struct {
	Mounts    []string // mount points under tmpBase or cocin's default directories
	Cgroups   []string // cgroup directories whose name contains the suite's parent name
	Links     []string // network links named cocin*
	NftTables []string // "family name" of nftables tables containing "cocin"
	Procs     []proc   // processes running the test binary or in the suite's cgroups
	// DevNodes describe the host's standard device nodes (type, number,
	// mode, inode): a container that reached the host's /dev changes them.
	DevNodes []string
	notes    []string // what could not be inspected
}

type proc struct {
	PID     int
	Cmdline string
	Why     string
}

func (p proc) String() string { return fmt.Sprintf("pid %d (%s): %s", p.PID, p.Why, p.Cmdline) }

func snapshotHost() hostSnapshot {
	var s hostSnapshot
	for _, mp := range mountPoints() {
		// Only this suite's directories and cocin's defaults (a command
		// that ignored --root): other suites may run at the same time, and
		// their mounts are neither our leaks nor ours to clean.
		if isUnder(mp, tmpBase) || isUnder(mp, "/var/lib/cocin") || isUnder(mp, "/run/cocin") {
			s.Mounts = append(s.Mounts, mp)
		}
	}
	s.Cgroups = testCgroups()
	s.Links = cocinLinks()
	s.NftTables, s.notes = cocinNftTables()
	s.Procs = testProcs(s.Cgroups)
	s.DevNodes = hostDevNodes()
	return s
}

func hostDevNodes() []string {
	var out []string
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty", "ptmx"} {
		p := "/dev/" + n
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			out = append(out, p+": "+err.Error())
			continue
		}
		out = append(out, fmt.Sprintf("%s mode %o dev %d:%d inode %d", p, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Ino))
	}
	return out
}

// newSince returns what s has that before had not. The suite's parent
// cgroups count too: cocin removes its parent with its last container.
func (s hostSnapshot) newSince(before hostSnapshot) hostSnapshot {
	return hostSnapshot{
		Mounts:    subtract(s.Mounts, before.Mounts),
		Cgroups:   subtract(s.Cgroups, before.Cgroups),
		Links:     subtract(s.Links, before.Links),
		NftTables: subtract(s.NftTables, before.NftTables),
		Procs:     s.Procs, // none can predate the suite: the binary path is new
		DevNodes:  subtract(s.DevNodes, before.DevNodes),
		notes:     s.notes,
	}
}

func (s hostSnapshot) count() int {
	return len(s.Mounts) + len(s.Cgroups) + len(s.Links) + len(s.NftTables) + len(s.Procs) + len(s.DevNodes)
}

func (s hostSnapshot) empty() bool { return s.count() == 0 }

func (s hostSnapshot) describe() string {
	var b strings.Builder
	for _, m := range s.Mounts {
		where := ""
		if !isUnder(m, tmpBase) {
			where = " (outside the test's private directories: did cocin ignore --root/--runroot?)"
		}
		fmt.Fprintf(&b, "  mount:    %s%s\n", m, where)
	}
	for _, c := range s.Cgroups {
		fmt.Fprintf(&b, "  cgroup:   %s\n", c)
	}
	for _, l := range s.Links {
		fmt.Fprintf(&b, "  link:     %s\n", l)
	}
	for _, n := range s.NftTables {
		fmt.Fprintf(&b, "  nftables: table %s\n", n)
	}
	for _, p := range s.Procs {
		fmt.Fprintf(&b, "  process:  %s\n", p)
	}
	for _, d := range s.DevNodes {
		fmt.Fprintf(&b, "  host device node changed: now %s\n", d)
	}
	for _, n := range s.notes {
		fmt.Fprintf(&b, "  (note: %s)\n", n)
	}
	return b.String()
}

// clean removes the leaks: processes first (they pin cgroups and mounts),
// then mounts (deepest first), cgroups (deepest first), links and tables.
func (s hostSnapshot) clean(w io.Writer) {
	report := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(w, "  cleanup: %s: %v\n", what, err)
		} else {
			fmt.Fprintf(w, "  cleanup: %s: done\n", what)
		}
	}
	for _, p := range s.Procs {
		report(fmt.Sprintf("kill pid %d", p.PID), syscall.Kill(p.PID, syscall.SIGKILL))
	}
	// Also kill anything that joined a leaked cgroup since the snapshot.
	for _, c := range s.Cgroups {
		for _, pid := range cgroupPIDs(c) {
			report(fmt.Sprintf("kill pid %d in %s", pid, c), syscall.Kill(pid, syscall.SIGKILL))
		}
	}
	if len(s.Procs) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	mounts := append([]string(nil), s.Mounts...)
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if !isUnder(m, tmpBase) {
			fmt.Fprintf(w, "  cleanup: mount %s is not below %s: left alone, check it by hand\n", m, tmpBase)
			continue
		}
		report("unmount "+m, unmount(m))
	}
	cgs := append([]string(nil), s.Cgroups...)
	sort.Slice(cgs, func(i, j int) bool { return len(cgs[i]) > len(cgs[j]) })
	for _, c := range cgs {
		report("rmdir "+c, rmdirRetry(c))
	}
	for _, l := range s.Links {
		out, err := exec.Command("ip", "link", "delete", l).CombinedOutput()
		report("ip link delete "+l, cmdErr(err, out))
	}
	for _, t := range s.NftTables {
		args := append([]string{"delete", "table"}, strings.Fields(t)...)
		out, err := exec.Command("nft", args...).CombinedOutput()
		report("nft "+strings.Join(args, " "), cmdErr(err, out))
	}
}

func cmdErr(err error, out []byte) error {
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func subtract(after, before []string) []string {
	seen := map[string]int{}
	for _, b := range before {
		seen[b]++
	}
	var out []string
	for _, a := range after {
		if seen[a] > 0 {
			seen[a]--
			continue
		}
		out = append(out, a)
	}
	return out
}

// mountPoints lists the mount points of this process's mount namespace (the
// host's), in mountinfo order.
func mountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			out = append(out, unescapeMountinfo(fields[4]))
		}
	}
	return out
}

// unescapeMountinfo decodes the octal escapes (\040 for a space, ...) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unmount(mp string) error {
	err := unix.Unmount(mp, unix.MNT_DETACH)
	if err == unix.EINVAL { // no longer a mount point
		return nil
	}
	return err
}

// testCgroups lists the cgroup directories, in every hierarchy mounted under
// /sys/fs/cgroup (v1 controllers, the unified v2 tree, or a pure v2 root),
// whose name contains the suite's cgroup parent name.
func testCgroups() []string {
	var roots []string
	if isCgroupFS("/sys/fs/cgroup") {
		roots = []string{"/sys/fs/cgroup"}
	} else {
		entries, _ := os.ReadDir("/sys/fs/cgroup")
		for _, e := range entries {
			p := filepath.Join("/sys/fs/cgroup", e.Name())
			if e.IsDir() && isCgroupFS(p) {
				roots = append(roots, p)
			}
		}
	}
	var out []string
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.Contains(d.Name(), cgroupParent) {
				// The parent and everything below it.
				_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
					if err == nil && d.IsDir() {
						out = append(out, q)
					}
					return nil
				})
				return filepath.SkipDir
			}
			return nil
		})
	}
	return out
}

func isCgroupFS(p string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP_SUPER_MAGIC || st.Type == unix.CGROUP2_SUPER_MAGIC
}

func cgroupPIDs(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func rmdirRetry(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		err = os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(100 * time.Millisecond) // killed tasks take a moment to leave
	}
	return err
}

// cocinLinks lists the host's network links named cocin*.
func cocinLinks() []string {
	entries, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cocin") {
			out = append(out, e.Name())
		}
	}
	return out
}

// cocinNftTables lists "family name" for the nftables tables containing cocin.
func cocinNftTables() ([]string, []string) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, []string{"nft not installed: nftables tables not checked"}
	}
	out, err := exec.Command("nft", "list", "tables").CombinedOutput()
	if err != nil {
		return nil, []string{fmt.Sprintf("nft list tables: %v: %s", err, bytes.TrimSpace(out))}
	}
	var tables []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l) // "table inet cocin"
		if len(f) == 3 && f[0] == "table" && strings.Contains(f[2], "cocin") {
			tables = append(tables, f[1]+" "+f[2])
		}
	}
	return tables, nil
}

// testProcs lists processes whose command line contains the test binary's
// path, or that sit in one of the suite's cgroups.
func testProcs(cgroups []string) []proc {
	self := os.Getpid()
	inCgroup := map[int]string{}
	for _, c := range cgroups {
		for _, pid := range cgroupPIDs(c) {
			inCgroup[pid] = c
		}
	}
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(raw), "\x00", " "))
		switch {
		case cocinBin != "" && strings.Contains(cmdline, cocinBin):
			out = append(out, proc{pid, cmdline, "runs the test binary"})
		case inCgroup[pid] != "":
			out = append(out, proc{pid, cmdline, "in cgroup " + inCgroup[pid]})
		default:
			if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil &&
				cocinBin != "" && strings.HasPrefix(exe, cocinBin) {
				out = append(out, proc{pid, cmdline, "executes the test binary"})
			} else if f := openFileUnder(pid, tmpBase); f != "" {
				// A monitor runs from a sealed copy of the binary with an
				// empty command line; the files it holds (the container's
				// log) tell which suite it belongs to.
				out = append(out, proc{pid, cmdline, "holds " + f})
			}
		}
	}
	return out
}

// openFileUnder returns a file under dir that pid has open, if any.
func openFileUnder(pid int, dir string) string {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return ""
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && isUnder(target, dir) {
			return target
		}
	}
	return ""
}
