package integration

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountEntry is one line of the container's /proc/mounts.
type mountEntry struct {
	Source, Point, FSType string
	Options               []string
}

func containerMounts(t *testing.T) []mountEntry {
	t.Helper()
	r := mustRun(t, "run", "--rm", "busybox", "cat", "/proc/mounts")
	var out []mountEntry
	for _, l := range lines(r.Stdout) {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		out = append(out, mountEntry{f[0], unescapeMountinfo(f[1]), f[2], strings.Split(f[3], ",")})
	}
	if len(out) == 0 {
		t.Fatalf("no mounts in the container's /proc/mounts: %s", r)
	}
	return out
}

// lastMount returns the top mount at point (the last one listed).
func lastMount(ms []mountEntry, point string) (mountEntry, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Point == point {
			return ms[i], true
		}
	}
	return mountEntry{}, false
}

func TestIsolationPID(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "ps", "-o", "pid,comm")
	ls := lines(r.Stdout)
	if len(ls) != 2 {
		t.Fatalf("want the header and one process (ps itself): %s", r)
	}
	if f := strings.Fields(ls[1]); len(f) != 2 || f[0] != "1" || f[1] != "ps" {
		t.Errorf("want \"1 ps\" (the command is PID 1): %s", r)
	}
	r = mustRun(t, "run", "--rm", "busybox", "sh", "-c", "echo $$")
	if strings.TrimSpace(r.Stdout) != "1" {
		t.Errorf("sh -c 'echo $$' should print 1: %s", r)
	}
}

func TestIsolationMounts(t *testing.T) {
	t.Parallel()
	// A mount that exists only on the host, made while the container runs.
	hostOnly := filepath.Join(tmpBase, "hostonly-"+randomHex(4))
	if err := os.Mkdir(hostOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", hostOnly, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", hostOnly, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(hostOnly, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", hostOnly, err)
		}
		os.Remove(hostOnly)
	})
	r := mustRun(t, "run", "--rm", "busybox", "cat", "/proc/mounts")
	if strings.Contains(r.Stdout, filepath.Base(hostOnly)) {
		t.Errorf("the host's mount %s is visible in the container:\n%s", hostOnly, r.Stdout)
	}
	for _, l := range lines(r.Stdout) {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], tmpBase) {
			t.Errorf("a host path is a mount point in the container: %s", l)
		}
	}
}

func TestIsolationFilesystem(t *testing.T) {
	t.Parallel()
	marker := "it-" + randomHex(4)
	mustRun(t, "run", "--rm", "busybox", "sh", "-c",
		"echo x > /etc/"+marker+" && echo x > /tmp/"+marker+" && rm /bin/true && test ! -e /bin/true")
	r := cocin(t, "run", "--rm", "busybox", "ls", "/etc/"+marker, "/tmp/"+marker)
	if r.Code == 0 || strings.Contains(r.Stdout, marker) {
		t.Errorf("a file written by one container is visible in another: %s", r)
	}
	mustRun(t, "run", "--rm", "busybox", "test", "-e", "/bin/true")
}

func TestIsolationNetwork(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
	if got := lines(r.Stdout); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("want only lo in /sys/class/net: %s", r)
	}
	r = mustRun(t, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
	ls := lines(r.Stdout)
	if len(ls) != 1 || !strings.Contains(ls[0], " lo: ") {
		t.Errorf("want only lo in ip link: %s", r)
	}
}

func TestIsolationIPC(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "cat", "/proc/sysvipc/shm")
	if n := len(lines(r.Stdout)); n > 1 {
		t.Errorf("host SysV shared memory visible in the container: %s", r)
	}
}

func TestSecurityMaskedPaths(t *testing.T) {
	t.Parallel()
	ms := containerMounts(t)
	files := []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/latency_stats", "/proc/sched_debug"}
	dirs := []string{"/proc/acpi", "/proc/scsi", "/sys/firmware"}
	for _, p := range files {
		if _, err := os.Stat(p); err != nil {
			t.Logf("%s: not on this host's kernel, not checked", p)
			continue
		}
		if _, ok := lastMount(ms, p); !ok {
			t.Errorf("%s is not masked (no mount over it)", p)
		}
		r := mustRun(t, "run", "--rm", "busybox", "sh", "-c", "wc -c < "+p)
		if strings.TrimSpace(r.Stdout) != "0" {
			t.Errorf("%s should read as empty (masked with /dev/null): %s", p, r)
		}
	}
	for _, p := range dirs {
		if _, err := os.Stat(p); err != nil {
			t.Logf("%s: not on this host, not checked", p)
			continue
		}
		if _, ok := lastMount(ms, p); !ok {
			t.Errorf("%s is not masked (no mount over it)", p)
		}
	}
}

func TestSecurityReadOnlyPaths(t *testing.T) {
	t.Parallel()
	ms := containerMounts(t)
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/sys"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		m, ok := lastMount(ms, p)
		if !ok {
			t.Errorf("%s: no read-only mount", p)
			continue
		}
		if !slices.Contains(m.Options, "ro") {
			t.Errorf("%s is mounted %v, want ro", p, m.Options)
		}
	}
	// "h" only prints the sysrq help to the kernel log, should the write get through.
	r := cocin(t, "run", "--rm", "busybox", "sh", "-c", "echo h > /proc/sysrq-trigger")
	if r.Code == 0 {
		t.Errorf("/proc/sysrq-trigger is writable: %s", r)
	}
	r = cocin(t, "run", "--rm", "busybox", "mkdir", "/sys/fs/it-"+randomHex(3))
	if r.Code == 0 {
		t.Errorf("/sys is writable: %s", r)
	}
	// The root filesystem itself stays writable.
	mustRun(t, "run", "--rm", "busybox", "touch", "/new-file")
}

func TestSecurityDev(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "sh", "-c",
		`for d in null zero full random urandom tty; do test -c /dev/$d || echo "missing /dev/$d"; done
		 for d in pts shm mqueue; do test -d /dev/$d || echo "missing /dev/$d/"; done
		 test -e /dev/mem && echo "host device /dev/mem present"
		 echo x > /dev/null || echo "cannot write /dev/null"
		 test "$(head -c 3 /dev/zero | wc -c)" = 3 || echo "cannot read /dev/zero"
		 test "$(head -c 8 /dev/urandom | wc -c)" = 8 || echo "cannot read /dev/urandom"
		 (echo x > /dev/full) 2>/dev/null && echo "/dev/full accepted a write"
		 true`)
	if out := strings.TrimSpace(r.Stdout); out != "" {
		t.Errorf("/dev problems:\n%s", out)
	}
	ms := containerMounts(t)
	for point, fstype := range map[string]string{"/dev/pts": "devpts", "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue"} {
		m, ok := lastMount(ms, point)
		if !ok || m.FSType != fstype {
			t.Errorf("want %s mounted as %s, got %+v (found %v)", point, fstype, m, ok)
		}
	}
}

func TestSecurityNoLeakedFDs(t *testing.T) {
	t.Parallel()
	// busybox ls lists /proc/self/fd through its own directory fd: 3.
	r := mustRun(t, "run", "--rm", "busybox", "ls", "/proc/self/fd")
	if got := lines(r.Stdout); !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Errorf("want fds 0 1 2 and ls's own 3, got %v (a host fd leaked?): %s", got, r)
	}
	// PID 1 (a shell, kept alive by "; true") holds only 0 1 2.
	r = mustRun(t, "run", "--rm", "busybox", "sh", "-c", "ls /proc/1/fd; true")
	if got := lines(r.Stdout); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Errorf("want PID 1 to hold fds 0 1 2 only, got %v: %s", got, r)
	}
	// The working directory is inside the container (CVE-2024-21626).
	r = mustRun(t, "run", "--rm", "busybox", "readlink", "/proc/self/cwd")
	if strings.TrimSpace(r.Stdout) != "/" {
		t.Errorf("cwd: %s", r)
	}
}

func TestSecurityProcExe(t *testing.T) {
	t.Parallel()
	// CVE-2019-5736: PID 1's executable is the user's binary, never cocin's.
	r := mustRun(t, "run", "--rm", "busybox", "readlink", "/proc/1/exe")
	if strings.TrimSpace(r.Stdout) != "/bin/busybox" {
		t.Errorf("/proc/1/exe: want /bin/busybox: %s", r)
	}
	r = mustRun(t, "run", "--rm", "busybox", "sh", "-c", "readlink /proc/1/exe; true")
	if strings.TrimSpace(r.Stdout) != "/bin/busybox" {
		t.Errorf("/proc/1/exe of sh: want /bin/busybox: %s", r)
	}
	t.Run("exec cannot overwrite the host binary", func(t *testing.T) {
		// The CVE's attack: make `exec` run /proc/self/exe (the cocin
		// binary) inside the container through a script's #! line, then
		// write to it through /proc/PID/exe from the container.
		before := fileHash(t, cocinBin)
		name := uniqueName("cve")
		mustRun(t, "run", "-d", "--name", name, "busybox", "sleep", "300")
		defer cocin(t, "rm", "-f", name)
		// cocin is dynamically linked: give the container the host's
		// loader and libraries, as a glibc-based image would have them.
		for _, lib := range sharedLibs(t, cocinBin) {
			data, err := os.ReadFile(lib)
			if err != nil {
				t.Skipf("host library %s: %v", lib, err)
			}
			script := "mkdir -p " + filepath.Dir(lib) + " && cat > " + lib + " && chmod 755 " + lib
			if r := cocinWithStdin(t, string(data), "exec", "-i", name, "sh", "-c", script); r.Code != 0 {
				t.Fatalf("copy %s: %s", lib, r)
			}
		}
		// /evil runs "cocin wait /evil" inside the container; a record the
		// attacker plants (a "running" container named evil owned by PID 1)
		// keeps that cocin process alive while the attack goes on.
		id := strings.Repeat("e", 64)
		plant := `d=/var/lib/cocin/containers; mkdir -p $d/names $d/` + id + ` &&
			printf ` + id + ` > $d/names/evil &&
			echo '{"Id":"` + id + `","Name":"evil","State":{"Status":"running"},"MonitorPid":1}' > $d/` + id + `/container.json &&
			printf '#!/proc/self/exe wait\n' > /evil && chmod +x /evil`
		mustRun(t, "exec", name, "sh", "-c", plant)
		mustRun(t, "exec", "-d", name, "/evil")
		// Hold the binary open while it runs (writing it then fails with
		// ETXTBSY anyway), kill it, then reopen it for writing through the
		// held descriptor: that is the write that must fail.
		attack := `for i in 1 2 3 4 5 6 7 8 9 10; do
			for p in /proc/[0-9]*; do
				case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in
				"/proc/self/exe wait"*) found=${p#/proc/} ;;
				esac
			done
			[ -n "$found" ] && break; sleep 0.2
		done
		[ -z "$found" ] && exit 3
		echo FOUND
		exec 3< /proc/$found/exe
		kill -9 $found; sleep 0.3
		if (echo pwned >> /proc/self/fd/3) 2>&1; then echo WROTE; fi`
		r := cocin(t, "exec", name, "sh", "-c", attack)
		if !strings.Contains(r.Stdout, "FOUND") {
			t.Fatalf("the cocin process started by the exploit was not seen: %s", r)
		}
		if strings.Contains(r.Stdout, "WROTE") {
			t.Errorf("a container process wrote to the cocin binary: %s", r)
		}
		// Read-only, because it is a sealed copy; "text file busy" would
		// only mean that some process still runs the host's binary.
		if !strings.Contains(r.Stdout, "Read-only file system") {
			t.Errorf("reopening the binary for writing should fail as read-only: %s", r)
		}
		if after := fileHash(t, cocinBin); after != before {
			t.Errorf("the host cocin binary changed")
		}
	})
}

func TestRunInteractiveTTY(t *testing.T) {
	t.Parallel()
	s := startPTY(t, "run", "-it", "--rm", "busybox", "sh")
	s.Expect(`# $|# `, 30*time.Second) // the root prompt "/ # "
	s.Send(`echo "pid=$$"`)
	if m := s.Expect(`pid=(\d+)`, 15*time.Second); m[1] != "1" {
		t.Errorf("echo $$ in the -it shell printed %s, want 1", m[1])
	}
	s.Send(`tty; echo "E""1"`)
	m := s.Expect(`(?s)(\S+)\r*\nE1`, 15*time.Second)
	if m[1] != "/dev/pts/0" {
		t.Errorf("tty printed %q, want /dev/pts/0; output:\n%q", m[1], s.Output())
	}
	s.Send(`stty size; echo "E""2"`)
	if m := s.Expect(`(\d+ \d+)\r*\nE2`, 15*time.Second); m[1] != "24 80" {
		t.Errorf("stty size printed %q, want the outer terminal's \"24 80\"", m[1])
	}
	s.Send("exit 5")
	if code := s.Wait(30 * time.Second); code != 5 {
		t.Errorf("exit 5 in the -it shell: cocin exited %d; output:\n%q", code, s.Output())
	}
}

func TestRunTTYWithoutStdin(t *testing.T) {
	t.Parallel()
	s := startPTY(t, "run", "-t", "--rm", "busybox", "sh", "-c", `tty; echo "E""3"`)
	m := s.Expect(`(\S+)\r*\nE3`, 30*time.Second)
	if m[1] != "/dev/pts/0" {
		t.Errorf("-t: tty printed %q, want /dev/pts/0", m[1])
	}
	if code := s.Wait(30 * time.Second); code != 0 {
		t.Errorf("-t: exit code %d; output:\n%q", code, s.Output())
	}
	if strings.Contains(s.Output(), "cocin: ") {
		t.Errorf("an error in the terminal output:\n%q", s.Output())
	}
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// sharedLibs lists the shared objects a dynamically linked binary loads
// (ldd's absolute paths).
func sharedLibs(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Skipf("ldd %s: %v", bin, err)
	}
	var libs []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") {
			libs = append(libs, f)
		}
	}
	return libs
}

// The caller's own stdio (here a file) never reaches a foreground container
// or an exec'd process: they write to pipes cocin relays, so a host
// terminal or file is not theirs to reach; an unset stream is the
// container's own /dev/null, not the host's. The foreground run's output
// is in `logs` too, as with Docker.
func TestSecurityStdioIsRelayed(t *testing.T) {
	t.Parallel()
	name := uniqueName("relay")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	script := `for f in 0 1 2; do stat -L -c %F /proc/self/fd/$f; done; stat -L -c %d:%i /proc/self/fd/0 /dev/null | uniq | wc -l`
	want := "character special file\nfifo\nfifo\n1\n"
	out := runToFile(t, "run", "--name", name, "busybox", "sh", "-c", script)
	if out != want {
		t.Errorf("foreground run: stdio seen inside %q, want %q", out, want)
	}
	if logs := mustRun(t, "logs", name).Stdout; logs != want {
		t.Errorf("logs of a foreground run: %q, want %q", logs, want)
	}
	c := startSleeper(t)
	if out := runToFile(t, "exec", c, "sh", "-c", script); out != want {
		t.Errorf("exec: stdio seen inside %q, want %q", out, want)
	}
}

// runToFile runs cocin with its stdout on a regular file and returns what
// landed there.
func runToFile(t *testing.T, args ...string) string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	cmd := defaultEnv.command(ctx, args...)
	cmd.Stdout = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cocin %v: %v %s", args, err, stderr.String())
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
