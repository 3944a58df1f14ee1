package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// startSleeper runs a detached container that sleeps, removed at cleanup.
func startSleeper(t *testing.T, flags ...string) string {
	t.Helper()
	name := uniqueName("exec")
	args := append(append([]string{"run", "-d", "--name", name}, flags...), "busybox", "sleep", "1000")
	mustRun(t, args...)
	t.Cleanup(func() { defaultEnv.exec(nil, "", defaultTimeout, "rm", "-f", name) })
	return name
}

func TestExecArgv(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	// Spaces, quotes, an empty argument and shell syntax arrive untouched.
	r := mustRun(t, "exec", c, "printf", "[%s]", "a  b", "", `"q"`, "'s'", "$HOME", "x;y")
	if want := `[a  b][]["q"]['s'][$HOME][x;y]`; r.Stdout != want {
		t.Errorf("argv changed on the way: want %q: %s", want, r)
	}
	// Flags after the container belong to the command.
	r = mustRun(t, "exec", c, "echo", "-e", "-n", "x")
	if r.Stdout != "x" {
		t.Errorf("flags after CONTAINER were not passed to the command: %s", r)
	}
}

func TestExecJoinsContainer(t *testing.T) {
	t.Parallel()
	c := startSleeper(t, "-h", "inside")
	// Same pid namespace (PID 1 is the container's sleep), uts, mount and
	// network namespaces as the container's init.
	r := mustRun(t, "exec", c, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; ls /proc/1/ns -l >/dev/null; for n in mnt uts ipc net pid cgroup; do [ $(readlink /proc/1/ns/$n) = $(readlink /proc/self/ns/$n) ] || echo differs $n; done")
	out := lines(r.Stdout)
	if len(out) != 2 || strings.TrimSpace(out[0]) != "sleep 1000" || out[1] != "inside" {
		t.Errorf("want PID 1 = sleep 1000, hostname inside, every namespace shared: %s", r)
	}
	// The host's environment does not leak in.
	r = mustRun(t, "exec", c, "env")
	if strings.Contains(r.Stdout, "COCIN_ROOT") {
		t.Errorf("the host's environment reached the exec'd process: %s", r)
	}
	// The process's executable is the command, not cocin (CVE-2019-5736).
	r = mustRun(t, "exec", c, "readlink", "/proc/self/exe")
	if strings.TrimSpace(r.Stdout) != "/bin/busybox" {
		t.Errorf("/proc/self/exe: %s", r)
	}
	// Only stdio reaches the process (CVE-2024-21626); ls holds 3 itself.
	r = mustRun(t, "exec", c, "ls", "/proc/self/fd")
	if got := strings.Join(lines(r.Stdout), " "); got != "0 1 2 3" {
		t.Errorf("want fds 0 1 2 3, got %q", got)
	}
}

func TestExecEnv(t *testing.T) {
	t.Parallel()
	c := startSleeper(t, "-e", "A=run", "-e", "B=run", "-e", "C=run")
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nB=file\nC=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Precedence: the container's environment < --env-file < -e.
	r := mustRun(t, "exec", "--env-file", envFile, "-e", "C=flag", "-e", "D=flag with space", c, "env")
	env := map[string]string{}
	for _, l := range lines(r.Stdout) {
		k, v, _ := strings.Cut(l, "=")
		env[k] = v
	}
	want := map[string]string{"A": "run", "B": "file", "C": "flag", "D": "flag with space", "HOME": "/root", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q: %s", k, env[k], v, r)
		}
	}
	r = defaultEnv.run(t, "exec", "-e", "=bad", c, "true")
	expectEngineError(t, r)
	r = defaultEnv.run(t, "exec", "--env-file", "/nonexistent", c, "true")
	expectEngineError(t, r)
}

func TestExecWorkdirUser(t *testing.T) {
	t.Parallel()
	c := startSleeper(t, "-w", "/tmp", "-u", "nobody")
	// The container's working directory and user by default...
	r := mustRun(t, "exec", c, "sh", "-c", "pwd; id -u; grep CapEff /proc/self/status")
	if got := lines(r.Stdout); len(got) != 3 || got[0] != "/tmp" || got[1] != "65534" || !strings.HasSuffix(got[2], "0000000000000000") {
		t.Errorf("want /tmp, uid 65534 without capabilities: %s", r)
	}
	// ...-w and -u override them; root gets the container's root capabilities.
	r = mustRun(t, "exec", "-w", "/etc", "-u", "0:0", c, "sh", "-c", "pwd; id -u; id -g; grep CapEff /proc/self/status")
	if got := lines(r.Stdout); len(got) != 4 || got[0] != "/etc" || got[1] != "0" || got[2] != "0" || !strings.HasSuffix(got[3], "a80425fb") {
		t.Errorf("want /etc, uid 0, gid 0, Docker's default capabilities: %s", r)
	}
	// HOME follows -u (the container's came from its own user), unless -e sets it.
	if r := mustRun(t, "exec", "-u", "root", c, "sh", "-c", "echo $HOME"); r.Stdout != "/root\n" {
		t.Errorf("exec -u root: HOME %q, want /root", r.Stdout)
	}
	if r := mustRun(t, "exec", "-u", "root", "-e", "HOME=/x", c, "sh", "-c", "echo $HOME"); r.Stdout != "/x\n" {
		t.Errorf("exec -u root -e HOME=/x: HOME %q", r.Stdout)
	}
	r = defaultEnv.run(t, "exec", "-u", "no-such-user", c, "true")
	expectEngineError(t, r)
	r = defaultEnv.run(t, "exec", "-w", "relative", c, "true")
	expectEngineError(t, r)
	r = defaultEnv.run(t, "exec", "-w", "/does/not/exist", c, "true")
	expectCode(t, r, 126)
}

func TestExecPrivileged(t *testing.T) {
	t.Parallel()
	// As in Docker, exec --privileged keeps the container's seccomp
	// profile, whose mount rule needs CAP_SYS_ADMIN in the container's own
	// capabilities: without a profile, only the capabilities decide.
	c := startSleeper(t, "--security-opt", "seccomp=unconfined")
	plain := mustRun(t, "exec", c, "grep", "CapBnd", "/proc/self/status").Stdout
	priv := mustRun(t, "exec", "--privileged", c, "grep", "CapBnd", "/proc/self/status").Stdout
	if plain == priv || !strings.Contains(plain, "a80425fb") {
		t.Errorf("--privileged did not widen the capabilities: %q vs %q", plain, priv)
	}
	// CAP_SYS_ADMIN: mount works only with --privileged.
	if r := defaultEnv.run(t, "exec", c, "mount", "-t", "tmpfs", "t", "/tmp"); r.Code == 0 {
		t.Errorf("mount succeeded without --privileged: %s", r)
	}
	mustRun(t, "exec", "--privileged", c, "mount", "-t", "tmpfs", "t", "/tmp")
	// The default profile stays on for exec --privileged.
	d := startSleeper(t)
	if r := mustRun(t, "exec", "--privileged", d, "grep", "Seccomp:", "/proc/self/status"); !strings.Contains(r.Stdout, "2") {
		t.Errorf("exec --privileged dropped the container's seccomp filter: %s", r)
	}
}

func TestExecExitCodes(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"sh", "-c", "exit 255"}, 255},
		{[]string{"sh", "-c", "kill -9 $$"}, 137},
		{[]string{"no-such-command"}, 127},
		{[]string{"/no/such/path"}, 127},
		{[]string{"/etc/passwd"}, 126},
		{[]string{"/etc"}, 126},
	} {
		r := defaultEnv.run(t, append([]string{"exec", c}, tc.args...)...)
		expectCode(t, r, tc.code)
		if (tc.code == 126 || tc.code == 127) && !strings.Contains(r.Stderr, "cocin: ") {
			t.Errorf("want a cocin: error: %s", r)
		}
	}
}

func TestExecErrors(t *testing.T) {
	t.Parallel()
	expectClientError(t, cocin(t, "exec", "no-such-container-"+randomHex(4), "true"))
	expectClientError(t, cocin(t, "exec", "only-one-arg"))

	c := startSleeper(t)
	mustRun(t, "pause", c)
	r := cocin(t, "exec", c, "true")
	expectClientError(t, r)
	if !strings.Contains(r.Stderr, "paused") {
		t.Errorf("want a message saying the container is paused: %s", r)
	}
	mustRun(t, "unpause", c)
	mustRun(t, "exec", c, "true")
	// Nothing is left in the container after the failures.
	if procs := topPIDs(t, c); len(procs) != 1 {
		t.Errorf("want only the container's init, got %v", procs)
	}

	mustRun(t, "stop", "-t", "1", c)
	r = cocin(t, "exec", c, "true")
	expectClientError(t, r)
	if !strings.Contains(r.Stderr, "not running") {
		t.Errorf("want a message saying the container is not running: %s", r)
	}
}

// topPIDs returns the PIDs `top` lists for container c.
func topPIDs(t *testing.T, c string) []string {
	t.Helper()
	var out []string
	for i, l := range lines(mustRun(t, "top", c).Stdout) {
		if f := strings.Fields(l); i > 0 && len(f) > 1 {
			out = append(out, f[1])
		}
	}
	return out
}

func TestExecInteractive(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	r := cocinWithStdin(t, "one\ntwo\n", "exec", "-i", c, "cat")
	if r.Stdout != "one\ntwo\n" {
		t.Errorf("-i: stdin not streamed: %s", r)
	}
	r = cocinWithStdin(t, "ignored\n", "exec", c, "cat")
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("without -i the command read our stdin: %s", r)
	}
}

func TestExecTTY(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	s := startPTY(t, "exec", "-it", c, "sh")
	s.Expect(`# $|# `, 30*time.Second)
	s.Send(`tty; echo "$TERM"; echo "E""1"`)
	m := s.Expect(`(\S+)\r*\n(\S+)\r*\nE1`, 15*time.Second)
	if !strings.HasPrefix(m[1], "/dev/pts/") || m[2] != "xterm" {
		t.Errorf("tty/TERM printed %q %q; want a /dev/pts terminal and xterm", m[1], m[2])
	}
	s.Send(`stty size; echo "E""2"`)
	if m := s.Expect(`(\d+ \d+)\r*\nE2`, 15*time.Second); m[1] != "24 80" {
		t.Errorf("stty size printed %q, want \"24 80\"", m[1])
	}
	// Resizing our terminal resizes the command's (SIGWINCH relayed).
	if err := pty.Setsize(s.tty, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s.Send(`stty size; echo "E""3"`)
	if m := s.Expect(`(\d+ \d+)\r*\nE3`, 15*time.Second); m[1] != "40 100" {
		t.Errorf("after a resize stty size printed %q, want \"40 100\"", m[1])
	}
	s.Send("exit 4")
	if code := s.Wait(30 * time.Second); code != 4 {
		t.Errorf("exit 4 in exec -it: cocin exited %d", code)
	}
}

func TestExecDetach(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	r := mustRun(t, "exec", "-d", c, "sleep", "777")
	if r.Stdout != "" {
		t.Errorf("exec -d printed something: %s", r)
	}
	// It runs in the container (top lists it) after cocin exited...
	var pid int
	for _, l := range lines(mustRun(t, "top", c, "-o", "pid,args").Stdout) {
		if f := strings.Fields(l); len(f) > 1 && strings.Join(f[1:], " ") == "sleep 777" {
			pid, _ = strconv.Atoi(f[0])
		}
	}
	if pid == 0 {
		t.Fatalf("top does not list the detached sleep 777")
	}
	// ...and is killed when the container stops.
	mustRun(t, "stop", "-t", "1", c)
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("the detached process %d outlived its container", pid)
	}
}

func TestExecShownInTopAndKilledOnStop(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	done := make(chan result, 1)
	go func() { done <- defaultEnv.exec(nil, "", defaultTimeout, "exec", c, "sleep", "555") }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(mustRun(t, "top", c).Stdout, "sleep 555") {
		if time.Now().After(deadline) {
			t.Fatal("top never listed the exec'd sleep 555")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustRun(t, "stop", "-t", "1", c)
	select {
	case r := <-done:
		expectCode(t, r, 137)
	case <-time.After(20 * time.Second):
		t.Fatal("cocin exec did not end when its container stopped")
	}
}

func TestExecNoZombies(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	for i := 0; i < 100; i++ {
		if r := cocin(t, "exec", c, "true"); r.Code != 0 {
			t.Fatalf("exec %d: %s", i, r)
		}
	}
	mustRun(t, "exec", "-d", c, "true")
	time.Sleep(200 * time.Millisecond)
	r := mustRun(t, "exec", c, "sh", "-c", `grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l`)
	if strings.TrimSpace(r.Stdout) != "0" {
		t.Errorf("zombies in the container after 100 execs: %s", r)
	}
	if procs := topPIDs(t, c); len(procs) != 1 {
		t.Errorf("want only the container's init left, got %v", procs)
	}
}

// Under a tight --pids-limit, exec still works: the process joins the
// cgroup once its own runtime threads exist (a migration is not counted
// against pids.max), and exec -d says so only when the command ran.
func TestExecUnderPidsLimit(t *testing.T) {
	t.Parallel()
	c := startSleeper(t, "--pids-limit", "2")
	mustRun(t, "exec", c, "true")
	for _, n := range []string{"101", "102", "103"} {
		mustRun(t, "exec", "-d", c, "sleep", n)
	}
	top := mustRun(t, "top", c).Stdout
	for _, n := range []string{"sleep 101", "sleep 102", "sleep 103"} {
		if !strings.Contains(top, n) {
			t.Errorf("exec -d reported success but %q does not run:\n%s", n, top)
		}
	}
	if strings.Contains(top, "nsenter") {
		t.Errorf("the exec helper shows in the container:\n%s", top)
	}
}
