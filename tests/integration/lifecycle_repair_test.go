package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With its monitor killed, stop, rm -f and restart of a container whose
// init ignores SIGTERM take the timeout and no CPU: they wait on the init
// and the record, they do not spin re-reading it.
func TestStopWithDeadMonitorDoesNotSpin(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	for _, cmd := range [][]string{{"stop", "-t", "1"}, {"rm", "-f"}, {"restart", "-t", "1"}} {
		id := e.detached(t, "--network", "none", "busybox", "sleep", "60")
		mon := e.monitorPid(t, id)
		if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 3*time.Second, "monitor gone", func() bool { return !alive(mon) })

		c := e.command(context.Background(), append(cmd, id)...)
		start := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
		took := time.Since(start)
		cpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
		if took > 4*time.Second || cpu > 500*time.Millisecond {
			t.Errorf("%v with a dead monitor: %s wall, %s CPU", cmd, took, cpu)
		}
	}
}

// kill (SIGKILL) returns once the exit is recorded, as Docker's: rm and
// start right after it work.
func TestKillWaitsForTheRecordedExit(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	a := e.detached(t, "--network", "none", "busybox", "sleep", "60")
	e.mustRun(t, "kill", a)
	if st := e.field(t, a, "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" {
		t.Errorf("right after kill: %q", st)
	}
	e.mustRun(t, "rm", a)

	b := e.detached(t, "--network", "none", "busybox", "sleep", "60")
	e.mustRun(t, "kill", b)
	e.mustRun(t, "start", b)
	if st := e.field(t, b, "{{.State.Status}}"); st != "running" {
		t.Errorf("kill then start: %q", st)
	}
}

// `cocin run` killed at any point leaves a record that is true, and
// nothing held once its container is gone: a created container stays
// created (startable), one that ran shows Exited, a --rm one disappears.
func TestRunKilledHalfway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	delays := []time.Duration{0, 2, 5, 8, 11, 14, 17, 20, 25, 30, 40, 50, 70, 100}
	for _, rm := range []bool{false, true} {
		for _, d := range delays {
			args := []string{"run", "--network", "none", "busybox", "sleep", "1"}
			if rm {
				args = append(args[:1], append([]string{"--rm"}, args[1:]...)...)
			}
			c := e.command(context.Background(), args...)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(d * time.Millisecond)
			_ = syscall.Kill(c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}
	// Every container either never ran (created) or runs its second of
	// sleep; once that is over all show exited, and the --rm ones are gone.
	time.Sleep(1500 * time.Millisecond)
	for _, line := range lines(e.mustRun(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}}").Stdout) {
		id, status, _ := strings.Cut(line, " ")
		if status != "Created" && !strings.HasPrefix(status, "Exited (") {
			t.Errorf("%s after its run was killed and its process ended: %q", id[:12], status)
		}
		if e.record(t, id)["AutoRemove"] == true {
			t.Errorf("%s: a --rm container stays after its run was killed: %q", id[:12], status)
		}
		if status == "Created" {
			if _, err := os.Stat(filepath.Join(e.Root, "containers", id, "merged", "bin")); err == nil {
				t.Errorf("%s: created, but its rootfs is still mounted", id[:12])
			}
		}
	}
	// A created one starts and runs to its end.
	if created := lines(e.mustRun(t, "ps", "-a", "-q", "--filter", "status=created").Stdout); len(created) > 0 {
		e.mustRun(t, "start", created[0])
		if code := strings.TrimSpace(e.mustRun(t, "wait", created[0]).Stdout); code != "0" {
			t.Errorf("start of a repaired created container: exit %s", code)
		}
	}
	for _, id := range lines(e.mustRun(t, "ps", "-a", "-q").Stdout) {
		e.mustRun(t, "rm", "-f", id)
	}
	// A run killed before it wrote the record left a directory (and
	// perhaps a mount) that only prune knows of, as Docker's would.
	e.mustRun(t, "system", "prune", "-f")
	if n := countMountsUnder(t, e.Root); n != 0 {
		t.Errorf("%d mounts left under the root after rm -f of all and prune", n)
	}
}

// The events a user sees: die for a foreground --rm run, restart for
// `restart`.
func TestDieAndRestartEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	since := time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	e.run(t, "run", "--rm", "--network", "none", "--name", "fg", "busybox", "sh", "-c", "exit 3")
	id := e.detached(t, "--network", "none", "--name", "rs", "busybox", "sleep", "60")
	e.mustRun(t, "restart", "-t", "0", id)
	out := e.mustRun(t, "events", "--since", since, "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano)).Stdout
	for _, want := range []string{"die", "destroy"} {
		if !eventFor(out, "fg", want) {
			t.Errorf("no %s event for the foreground --rm run:\n%s", want, out)
		}
	}
	for _, want := range []string{"kill", "die", "stop", "start", "restart"} {
		if !eventFor(out, "rs", want) {
			t.Errorf("no %s event for restart:\n%s", want, out)
		}
	}
}

// eventFor reports whether the events output has action for the named
// container.
func eventFor(out, name, action string) bool {
	for _, l := range lines(out) {
		if strings.Contains(l, " container "+action+" ") && strings.Contains(l, "name="+name) {
			return true
		}
	}
	return false
}

// --trace shows the monitor's steps for run -d, and exec's, stop's and
// rm's own.
func TestTraceDetachedStopRm(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	r := e.mustRun(t, "--trace", "run", "-d", "--network", "none", "busybox", "sleep", "60")
	id := strings.TrimSpace(r.Stdout)
	e.removeAtEnd(t, id)
	for _, step := range []string{"monitor", "create container", "pivot_root", "record start"} {
		if !strings.Contains(r.Stderr, step) {
			t.Errorf("--trace run -d lacks %q:\n%s", step, r.Stderr)
		}
	}
	r = e.mustRun(t, "--trace", "exec", id, "true")
	if !strings.Contains(r.Stderr, "setns") || !strings.Contains(r.Stderr, "wait for the command") {
		t.Errorf("--trace exec:\n%s", r.Stderr)
	}
	r = e.mustRun(t, "--trace", "stop", "-t", "0", id)
	if !strings.Contains(r.Stderr, "send SIGKILL") || !strings.Contains(r.Stderr, "exit to be recorded") {
		t.Errorf("--trace stop:\n%s", r.Stderr)
	}
	r = e.mustRun(t, "--trace", "rm", id)
	if !strings.Contains(r.Stderr, "unmount rootfs") || !strings.Contains(r.Stderr, "remove cgroup") {
		t.Errorf("--trace rm:\n%s", r.Stderr)
	}
}

// --stop-signal and --stop-timeout are what stop uses by default.
func TestStopSignalAndTimeout(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "--stop-signal", "USR1", "busybox",
		"sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done")
	time.Sleep(200 * time.Millisecond)
	e.mustRun(t, "stop", id)
	if code := e.field(t, id, "{{.State.ExitCode}}"); code != "7" {
		t.Errorf("stop with --stop-signal USR1: exit %s, want 7", code)
	}

	id = e.detached(t, "--network", "none", "--stop-timeout", "1", "busybox", "sleep", "60")
	start := time.Now()
	e.mustRun(t, "stop", id)
	if took := time.Since(start); took < 900*time.Millisecond || took > 4*time.Second {
		t.Errorf("stop with --stop-timeout 1 took %s", took)
	}
	if code := e.field(t, id, "{{.State.ExitCode}}"); code != "137" {
		t.Errorf("stop after the timeout: exit %s, want 137", code)
	}

	r := e.run(t, "run", "--rm", "--stop-signal", "NOPE", "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, "invalid signal") {
		t.Errorf("bad --stop-signal: %s", r)
	}
}

// countMountsUnder counts the host's mount points below dir.
func countMountsUnder(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, m := range mountPoints() {
		if strings.HasPrefix(m, dir+"/") {
			n++
		}
	}
	return n
}

// A `run --name N` killed before it wrote its record leaves no container,
// so the name is free again: the next run takes it (and prune frees it).
func TestRunKilledEarlyFreesItsName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, d := range []time.Duration{0, 1, 2, 3, 4, 6, 8, 10, 12} {
		name := "early" + strconv.Itoa(i)
		c := e.command(context.Background(), "run", "--network", "none", "--name", name, "busybox", "true")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d * time.Millisecond)
		_ = syscall.Kill(c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
		if out := e.mustRun(t, "ps", "-a", "-q", "--filter", "name=^"+name+"$").Stdout; strings.TrimSpace(out) != "" {
			continue // it got as far as its record: the name is rightly taken
		}
		if r := e.run(t, "run", "--rm", "--network", "none", "--name", name, "busybox", "true"); r.Code != 0 {
			t.Errorf("killed after %v: its name stays taken by no container: %s", d*time.Millisecond, r)
		}
	}
	e.mustRun(t, "system", "prune", "-f")
}

// kill of a paused container kills it at once (the cgroup is thawed), as
// Docker's does.
func TestKillPaused(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "busybox", "sleep", "60")
	e.mustRun(t, "pause", id)
	start := time.Now()
	e.mustRun(t, "kill", id)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("kill of a paused container took %s", took)
	}
	if st := e.field(t, id, "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" {
		t.Errorf("after kill of a paused container: %q", st)
	}
}

// -it needs a terminal on stdin, as with Docker: refused before anything
// is made.
func TestInteractiveTTYNeedsTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.exec(t, "hi\n", defaultTimeout, "run", "-it", "--rm", "--network", "none", "busybox", "cat")
	if r.Code != 1 || !strings.Contains(r.Stderr, "the input device is not a TTY") {
		t.Errorf("run -it with a pipe on stdin: %s", r)
	}
	if out := e.mustRun(t, "ps", "-a", "-q").Stdout; strings.TrimSpace(out) != "" {
		t.Errorf("the refused run left a container: %q", out)
	}
}

// attach proxies the signals it gets to the container (--sig-proxy, on by
// default), as Docker's does.
func TestAttachSigProxy(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "busybox", "sh", "-c", `trap "echo gotint; exit 5" INT; while :; do sleep 0.1; done`)
	c := e.command(context.Background(), "attach", id)
	var out strings.Builder
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	_ = c.Process.Signal(syscall.SIGINT)
	_ = c.Wait()
	if code := c.ProcessState.ExitCode(); code != 5 || !strings.Contains(out.String(), "gotint") {
		t.Errorf("attach got SIGINT: exit %d, output %q", code, out.String())
	}
}

// `run -it --rm` returns once the container is removed, as Docker's: its
// name is free for the very next run.
func TestRunInteractiveRmReturnsRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < 3; i++ {
		s := e.startPTY(t, "run", "-it", "--rm", "--name", "again", "busybox", "true")
		if code := s.Wait(defaultTimeout); code != 0 {
			t.Fatalf("run -it --rm #%d: exit %d: %s", i, code, s.Output())
		}
		// The last container's removal also releases the cgroup parent:
		// that is the very end of it.
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids", e.CgroupParent)); err == nil {
			t.Fatalf("run -it --rm #%d returned before the removal ended (cgroup parent still there)", i)
		}
		if out := e.mustRun(t, "ps", "-a", "-q").Stdout; strings.TrimSpace(out) != "" {
			t.Fatalf("run -it --rm #%d returned before the container was removed: %q", i, out)
		}
	}
}

// Commands that meet a start under way wait for it, as Docker's wait on
// the container's lock: two starts both succeed, a stop or kill right
// after a start stops the container.
func TestCommandsDuringStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	trapTERM := []string{"sh", "-c", `trap "exit 3" TERM; while :; do sleep 0.05; done`}
	for i, second := range [][]string{{"start"}, {"stop", "-t", "1"}, {"kill"}, {"restart", "-t", "1"}} {
		id := strings.TrimSpace(e.mustRun(t, append([]string{"create", "--network", "none", "busybox"}, trapTERM...)...).Stdout)
		first := e.command(context.Background(), "start", id)
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+5*i) * time.Millisecond)
		start := time.Now()
		r := e.run(t, append(second, id)...)
		took := time.Since(start)
		if err := first.Wait(); err != nil {
			t.Errorf("start beside %v: %v", second, err)
		}
		if r.Code != 0 || took > 5*time.Second {
			t.Errorf("%v during start: %s after %s", second, r, took)
		}
		want := map[string]string{"start": "running", "stop": "exited", "kill": "exited", "restart": "running"}[second[0]]
		waitUntil(t, 5*time.Second, "final state", func() bool { return e.field(t, id, "{{.State.Status}}") == want })
		e.mustRun(t, "rm", "-f", id)
	}
}

// kill stops a container for good, as Docker's: its restart policy does
// not bring it back, and one in its restart back-off stays stopped.
func TestKillSuspendsRestartPolicy(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "--restart", "always", "busybox", "sleep", "60")
	e.mustRun(t, "kill", id)
	time.Sleep(1500 * time.Millisecond)
	if st := e.field(t, id, "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" {
		t.Errorf("killed container with --restart always: %q", st)
	}
	e.mustRun(t, "rm", id)

	id = e.detached(t, "--network", "none", "--restart", "always", "busybox", "false")
	waitUntil(t, 5*time.Second, "restarting", func() bool { return e.field(t, id, "{{.State.Status}}") == "restarting" })
	if r := e.run(t, "pause", id); r.Code != 1 || !strings.Contains(r.Stderr, "is restarting") {
		t.Errorf("pause of a restarting container: %s", r)
	}
	e.mustRun(t, "kill", id)
	time.Sleep(1500 * time.Millisecond)
	if st := e.field(t, id, "{{.State.Status}}"); st != "exited" {
		t.Errorf("kill in the restart back-off: %q", st)
	}
}

// An unknown subcommand of a command group fails, as with Docker.
func TestUnknownSubcommand(t *testing.T) {
	t.Parallel()
	for _, group := range []string{"network", "volume", "image", "system"} {
		if r := defaultEnv.run(t, group, "nosuch"); r.Code != 1 || !strings.Contains(r.Stderr, "unknown command") {
			t.Errorf("%s nosuch: %s", group, r)
		}
	}
}
