package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
