package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Each test here makes an attempt that must fail in a default container
// and succeed only with the matching flag (or the reverse, for the flags
// that take a privilege away).

// secImage builds, once, an image "sectest": busybox plus the static
// secprobe program (testdata/secprobe.c), also installed setuid root.
var secImage = sync.OnceValue(func() error {
	dir := filepath.Join(tmpBase, "sectest")
	rootfs := filepath.Join(dir, "rootfs")
	bin := filepath.Join(rootfs, "usr", "local", "bin")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	steps := [][]string{
		{"tar", "-xf", busyboxTar, "-C", rootfs},
		{"mkdir", "-p", bin},
		{"gcc", "-static", "-O1", "-o", filepath.Join(bin, "secprobe"), filepath.Join(repoRoot, "tests", "integration", "testdata", "secprobe.c")},
		{"cp", filepath.Join(bin, "secprobe"), filepath.Join(bin, "secprobe-suid")},
		{"chmod", "4755", filepath.Join(bin, "secprobe-suid")},
		{"tar", "-cf", filepath.Join(dir, "sectest.tar"), "-C", rootfs, "."},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	if r := defaultEnv.exec(nil, "", defaultTimeout, "import", filepath.Join(dir, "sectest.tar"), "sectest"); r.Code != 0 {
		return fmt.Errorf("import sectest: %s", r)
	}
	return os.RemoveAll(rootfs)
})

func needSecImage(t *testing.T) {
	t.Helper()
	if err := secImage(); err != nil {
		t.Fatalf("build the sectest image: %v", err)
	}
}

// attempt runs sh -c script in a container with the extra flags and
// tells whether it exited 0.
func attempt(t *testing.T, image string, flags []string, script string) (bool, result) {
	t.Helper()
	// Exit codes other than 0 and 1 stay errors of the test itself.
	wrapped := "{ " + script + "\n} && exit 0; exit 1"
	args := append(append([]string{"run", "--rm"}, flags...), image, "sh", "-c", wrapped)
	r := cocin(t, args...)
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("want exit 0 or 1 from the attempt: %s", r)
	}
	return r.Code == 0, r
}

// checkDeniedThenAllowed: the script fails by default and succeeds with
// flags.
func checkDeniedThenAllowed(t *testing.T, image, script string, flags ...string) {
	t.Helper()
	if ok, r := attempt(t, image, nil, script); ok {
		t.Errorf("a default container was allowed to %q: %s", script, r)
	}
	if ok, r := attempt(t, image, flags, script); !ok {
		t.Errorf("with %v the container should be allowed to %q: %s", flags, script, r)
	}
}

func TestConfineNetAdmin(t *testing.T) {
	t.Parallel()
	checkDeniedThenAllowed(t, "busybox", "ip addr add 127.0.0.2/8 dev lo", "--cap-add", "NET_ADMIN")
}

func TestConfineMountTmpfs(t *testing.T) {
	t.Parallel()
	// With CAP_SYS_ADMIN Docker's profile also lets mount(2) through: the
	// profile follows the capabilities.
	checkDeniedThenAllowed(t, "busybox", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m", "--cap-add", "SYS_ADMIN")
}

func TestConfineCapDropAll(t *testing.T) {
	t.Parallel()
	if ok, r := attempt(t, "busybox", []string{"--cap-drop", "ALL", "--cap-add", "chown"}, "grep CapEff /proc/self/status"); !ok || !strings.Contains(r.Stdout, "0000000000000001") {
		t.Errorf("--cap-drop ALL --cap-add chown should leave only CAP_CHOWN: %s", r)
	}
	checkDeniedThenAllowed(t, "busybox", "! chown 1 /etc/passwd", "--cap-drop", "CHOWN")
}

func TestConfineLoadKernelModule(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	checkDeniedThenAllowed(t, "sectest", "secprobe init-module", "--privileged")
}

func TestConfineSeccompUnshareUser(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	checkDeniedThenAllowed(t, "sectest", "secprobe unshare-user", "--security-opt", "seccomp=unconfined")
}

func TestConfineSeccompKeyctl(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	checkDeniedThenAllowed(t, "sectest", "secprobe keyctl", "--security-opt", "seccomp=unconfined")
}

// TestConfinePtrace: a host process is not even visible (PID namespace);
// inside the container attaching to another user's process needs
// CAP_SYS_PTRACE.
func TestConfinePtrace(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	checkDeniedThenAllowed(t, "sectest", "secprobe ptrace", "--cap-add", "SYS_PTRACE")
	if ok, r := attempt(t, "busybox", nil, fmt.Sprintf("test -e /proc/%d/exe", os.Getpid())); ok {
		t.Errorf("the test's own process (PID %d) is visible in the container: %s", os.Getpid(), r)
	}
}

func TestConfineSeccompProfileFile(t *testing.T) {
	t.Parallel()
	// A profile that refuses mkdir with EPERM and allows the rest.
	p := filepath.Join(t.TempDir(), "profile.json")
	prof := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`
	if err := os.WriteFile(p, []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, r := attempt(t, "busybox", []string{"--security-opt", "seccomp=" + p}, "mkdir /tmp/x"); ok {
		t.Errorf("the profile should refuse mkdir: %s", r)
	}
	expectEngineError(t, cocin(t, "run", "--rm", "--security-opt", "seccomp="+p+".missing", "busybox", "true"))
	expectEngineError(t, cocin(t, "run", "--rm", "--security-opt", "apparmor=foo", "busybox", "true"))
}

func TestConfineMaskedPaths(t *testing.T) {
	t.Parallel()
	// /proc/kcore and /proc/sysrq-trigger do not exist on every kernel;
	// /proc/timer_list is masked too and has content on the host.
	if _, err := os.Stat("/proc/timer_list"); err != nil {
		t.Skip("no /proc/timer_list on this kernel")
	}
	checkDeniedThenAllowed(t, "busybox", "grep -q . /proc/timer_list", "--privileged")
	for _, p := range []string{"/proc/kcore", "/proc/sysrq-trigger"} {
		if _, err := os.Stat(p); err == nil {
			checkDeniedThenAllowed(t, "busybox", "head -c1 "+p+" | grep -q .", "--privileged")
		}
	}
}

func TestConfineProcSysReadOnly(t *testing.T) {
	t.Parallel()
	// kernel.hostname belongs to the container's UTS namespace: writing it
	// is safe even when allowed.
	checkDeniedThenAllowed(t, "busybox", "echo x > /proc/sys/kernel/hostname", "--privileged")
}

func TestConfineSysReadOnly(t *testing.T) {
	t.Parallel()
	// Nothing is written to /sys: a read-only mount fails creating a file
	// with EROFS, a writable sysfs with another error.
	script := "touch /sys/cocin-probe 2>&1 | grep -q 'Read-only' && exit 1 || exit 0"
	checkDeniedThenAllowed(t, "busybox", script, "--privileged")
}

func TestConfineMknodBlockDevice(t *testing.T) {
	t.Parallel()
	// Creating the node is allowed (as in Docker); opening it is up to the
	// device cgroup. Loop devices may not exist: ENXIO still means the
	// cgroup let the open through.
	script := "mknod /tmp/b b 7 0 && head -c1 /tmp/b 2>&1 | grep -q 'not permitted' && exit 1 || exit 0"
	checkDeniedThenAllowed(t, "busybox", script, "--device-cgroup-rule", "b 7:* rwm")
}

func TestConfineDevice(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "--device", "/dev/null:/dev/mynull:rw", "busybox", "sh", "-c", "echo x > /dev/mynull && stat -c %t:%T /dev/mynull")
	if strings.TrimSpace(r.Stdout) != "1:3" {
		t.Errorf("want /dev/mynull as char 1:3: %s", r)
	}
	expectEngineError(t, cocin(t, "run", "--rm", "--device", "/etc/passwd", "busybox", "true"))
	expectEngineError(t, cocin(t, "run", "--rm", "--device-cgroup-rule", "x 1:2 rwm", "busybox", "true"))
	// ":r" gives read access only: opening for writing is refused by the
	// device cgroup (fuse, 10:229, is not among Docker's default devices).
	if _, err := os.Stat("/dev/fuse"); err == nil {
		script := "(echo x > /dev/myfuse) 2>&1; true"
		r = mustRun(t, "run", "--rm", "--device", "/dev/fuse:/dev/myfuse:r", "busybox", "sh", "-c", script)
		if !strings.Contains(r.Stdout, "can't create /dev/myfuse: Operation not permitted") {
			t.Errorf("--device ...:r: opening for writing should be refused: %s", r)
		}
		r = mustRun(t, "run", "--rm", "--device", "/dev/fuse:/dev/myfuse:rw", "busybox", "sh", "-c", script)
		if strings.Contains(r.Stdout, "can't create") {
			t.Errorf("--device ...:rw: opening for writing should work: %s", r)
		}
	}
}

func TestConfineNoNewPrivileges(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	// A setuid-root binary raises euid and capabilities by default; under
	// no-new-privileges execve does not.
	ok, r := attempt(t, "sectest", []string{"-u", "1000"}, "secprobe-suid euid | grep -qx 'euid 0'")
	if !ok {
		t.Errorf("by default a setuid binary should run as euid 0: %s", r)
	}
	ok, r = attempt(t, "sectest", []string{"-u", "1000", "--security-opt", "no-new-privileges"}, "secprobe-suid euid | grep -qx 'euid 0'")
	if ok {
		t.Errorf("under no-new-privileges a setuid binary must not raise its euid: %s", r)
	}
}

func TestConfineDefaults(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "grep", "-E", "^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):", "/proc/self/status")
	for _, want := range []string{"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "CapInh:\t0000000000000000",
		"CapAmb:\t0000000000000000", "NoNewPrivs:\t0", "Seccomp:\t2"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("want %q (Docker's default) in /proc/self/status: %s", want, r)
		}
	}
	// A non-root user keeps the set only in its bounding set.
	r = mustRun(t, "run", "--rm", "-u", "1000", "busybox", "grep", "CapEff", "/proc/self/status")
	if !strings.Contains(r.Stdout, "0000000000000000") {
		t.Errorf("a non-root user should have no effective capabilities: %s", r)
	}
}

func TestConfineUlimitSysctl(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "--ulimit", "nofile=100:200", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=1000",
		"busybox", "sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "100 200 1 1000" {
		t.Errorf("want 100 200 1 1000: %s", r)
	}
	for _, bad := range [][]string{{"--sysctl", "kernel.panic=1"}, {"--sysctl", "vm.swappiness=1"}, {"--ulimit", "nofile=x"}, {"--cap-add", "NOPE"}} {
		expectEngineError(t, cocin(t, append(append([]string{"run", "--rm"}, bad...), "busybox", "true")...))
	}
}

// TestConfineNoHostFD: the container's process (a shell as PID 1) holds
// only its stdio.
func TestConfineNoHostFD(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "sh", "-c", "ls /proc/1/fd; true")
	if got := strings.Join(strings.Fields(r.Stdout), " "); got != "0 1 2" {
		t.Errorf("want only descriptors 0 1 2 in the container's process, got %q: %s", got, r)
	}
}

// usernsEnv is a private installation whose subordinate-id files grant
// "cocin" 200000-265535 (the host's /etc/subuid is not touched).
func usernsEnv(t *testing.T) *engineEnv {
	t.Helper()
	e := newEnv(t)
	// The remapped root must be able to walk down to its rootfs, as under
	// /var/lib/cocin; the suite's temporary directories are 0700.
	for _, d := range []string{tmpBase, filepath.Dir(e.Root)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(t.TempDir(), "subid")
	if err := os.WriteFile(f, []byte("cocin:200000:65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ExtraEnv = []string{"COCIN_SUBUID_FILE=" + f, "COCIN_SUBGID_FILE=" + f}
	return e
}

func TestConfineUsernsRemap(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	r := e.mustRun(t, "run", "--rm", "--userns-remap", "cocin", "busybox", "sh", "-c",
		"cat /proc/self/uid_map; id -u; mkdir /made && touch /etc/made && ls -lnd / /etc | awk '{print $3}'")
	if got := strings.Join(strings.Fields(r.Stdout), " "); got != "0 200000 65536 0 0 0" {
		t.Errorf("want root mapped onto 200000, and / and /etc owned by the container's root: %s", r)
	}
	// The container's root is host uid 200000: what it creates is owned
	// by that uid on the host.
	name := uniqueName("userns")
	e.mustRun(t, "run", "--name", name, "--userns-remap", "cocin", "busybox", "touch", "/made")
	id := strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.Id}}", name).Stdout)
	var st os.FileInfo
	st, err := os.Stat(filepath.Join(e.Root, "containers", id, "upper", "made"))
	if err != nil {
		t.Fatalf("the container's file is not in its upper layer: %v", err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 200000 {
		t.Errorf("want the file owned by host uid 200000, got %d", uid)
	}
	e.mustRun(t, "rm", name)
}

// TestConfineUsernsHostFile: a host file (cocin's own /etc/hostname, a
// root-owned 0644 file bind-mounted in) is writable by a container's root
// without a user namespace and not with one.
func TestConfineUsernsHostFile(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	script := "{ echo x > /etc/hostname; } 2>/dev/null && exit 0; exit 1"
	if r := e.run(t, "run", "--rm", "busybox", "sh", "-c", script); r.Code != 0 {
		t.Errorf("without a user namespace root writes the file: %s", r)
	}
	if r := e.run(t, "run", "--rm", "--userns-remap", "cocin", "busybox", "sh", "-c", script); r.Code != 1 {
		t.Errorf("the remapped root must not write a host file: %s", r)
	}
}

func TestConfineUsernsBadUser(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	expectEngineError(t, e.run(t, "run", "--rm", "--userns-remap", "nobody-here", "busybox", "true"))
	if r := e.mustRun(t, "ps", "-aq"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("a refused run left a container behind: %s", r)
	}
}

// needExec skips the exec'd-process tests until `cocin exec` exists (it
// comes from the exec branch); they run as soon as it does.
func needExec(t *testing.T) {
	t.Helper()
	if r := cocin(t, "exec", "--help"); r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, "exec") {
		t.Skip("cocin exec is not in this build")
	}
}

// TestConfineExec: an exec'd process has the container's confinement and
// no host descriptor, and a container process racing every exec cannot
// open /proc/PID/exe (the cocin binary before execve) for writing.
func TestConfineExec(t *testing.T) {
	t.Parallel()
	needExec(t)
	name := uniqueName("exec")
	race := `while :; do for p in /proc/[0-9]*; do (echo x >> $p/exe) 2>/dev/null && echo WROTE $p; done; done`
	mustRun(t, "run", "-d", "--name", name, "busybox", "sh", "-c", race)
	defer cocin(t, "rm", "-f", name)
	before, err := os.ReadFile(cocinBin)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		r := mustRun(t, "exec", name, "sh", "-c", "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; ls /proc/$$/fd; true")
		got := strings.Join(strings.Fields(r.Stdout), " ")
		want := "CapEff: 00000000a80425fb NoNewPrivs: 0 Seccomp: 2 0 1 2"
		if got != want {
			t.Fatalf("exec'd process: want %q, got %q", want, got)
		}
	}
	after, _ := os.ReadFile(cocinBin)
	if string(before) != string(after) {
		t.Error("the host cocin binary changed")
	}
	if logs := cocin(t, "logs", name); strings.Contains(logs.Stdout, "WROTE") {
		t.Errorf("a container process opened an exe for writing: %s", logs)
	}
}

// As with Docker, a non-root user may bind a port below 1024 in a
// container with a network of its own (ip_unprivileged_port_start=0),
// and ICMP echo sockets are open to every group; --sysctl overrides it.
func TestSecurityDefaultNetSysctls(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "--network", "none", "-u", "1000", "busybox", "sh", "-c",
		"cat /proc/sys/net/ipv4/ping_group_range; nc -l -p 80 & sleep 0.3; netstat -ltn | grep -c ':80 '")
	if r.Stdout != "0\t2147483647\n1\n" {
		t.Errorf("a non-root user should listen on port 80: %s", r)
	}
	r = mustRun(t, "run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_unprivileged_port_start=500", "busybox",
		"cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if r.Stdout != "500\n" {
		t.Errorf("--sysctl must override the default: %s", r)
	}
}
