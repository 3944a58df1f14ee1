package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A monitor killed with SIGKILL: the container keeps running and ps says
// so; once its process is gone too, the next command repairs the record.
func TestKilledMonitorRepair(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sleep", "60")
	mon := e.monitorPid(t, id)
	pid := atoiT(t, e.field(t, id, "{{.State.Pid}}"))
	if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "monitor gone", func() bool { return !alive(mon) })
	if st := e.psStatus(t, id); !strings.HasPrefix(st, "Up ") {
		t.Errorf("container still runs without its monitor; ps says %q", st)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "container process gone", func() bool { return !alive(pid) })
	if st := e.psStatus(t, id); !strings.HasPrefix(st, "Exited (") {
		t.Errorf("after the monitor and the process died ps says %q", st)
	}
	if got := e.field(t, id, "{{.State.Status}} {{.State.Pid}}"); got != "exited 0" {
		t.Errorf("repaired record: %q", got)
	}
	if errText := e.field(t, id, "{{.State.Error}}"); !strings.Contains(errText, "monitor") {
		t.Errorf("the repaired record does not say why: %q", errText)
	}
	// It can run again, under a new monitor.
	e.mustRun(t, "start", id)
	if m2 := e.monitorPid(t, id); m2 == 0 || m2 == mon || !alive(m2) {
		t.Errorf("start after repair: monitor %d", m2)
	}
	// stop works on a container whose monitor was killed while it runs.
	mon = e.monitorPid(t, id)
	_ = syscall.Kill(mon, syscall.SIGKILL)
	waitUntil(t, 3*time.Second, "monitor gone", func() bool { return !alive(mon) })
	e.mustRun(t, "stop", "-t", "1", id)
	if st := e.field(t, id, "{{.State.Status}}"); st != "exited" {
		t.Errorf("stop without a monitor: %s", st)
	}
}

// After a reboot the runroot is empty and no process survives: nothing
// shows as running, and the containers can start again.
func TestRebootShowsNothingRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.detached(t, "--name", "a", "busybox", "sleep", "60")
	b := e.detached(t, "--name", "b", "--restart", "always", "busybox", "sleep", "60")
	for _, id := range []string{a, b} {
		mon, pid := e.monitorPid(t, id), atoiT(t, e.field(t, id, "{{.State.Pid}}"))
		_ = syscall.Kill(mon, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		waitUntil(t, 3*time.Second, "processes gone", func() bool { return !alive(mon) && !alive(pid) })
	}
	// What a reboot also does: mounts are gone, /run is empty.
	for _, mp := range mountPoints() {
		if isUnder(mp, e.Root) {
			if err := unmount(mp); err != nil {
				t.Fatalf("unmount %s: %v", mp, err)
			}
		}
	}
	if err := os.RemoveAll(e.RunRoot); err != nil {
		t.Fatal(err)
	}
	if out := e.mustRun(t, "ps", "-q").Stdout; out != "" {
		t.Errorf("ps lists running containers after a reboot: %q", out)
	}
	for _, id := range []string{a, b} {
		if st := e.psStatus(t, id); !strings.HasPrefix(st, "Exited (") {
			t.Errorf("%s after a reboot: %q", id[:12], st)
		}
	}
	e.mustRun(t, "start", "a")
	if st := e.field(t, "a", "{{.State.Status}}"); st != "running" {
		t.Errorf("start after a reboot: %s", st)
	}
}

func TestRestartPolicyOnFailure(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--restart", "on-failure:2", "busybox", "sh", "-c", "echo try; exit 1")
	waitUntil(t, 10*time.Second, "two restarts then exited", func() bool {
		return e.field(t, id, "{{.State.Status}} {{.RestartCount}}") == "exited 2"
	})
	time.Sleep(500 * time.Millisecond) // no third restart
	if got := e.field(t, id, "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"); got != "exited 2 1" {
		t.Errorf("on-failure:2: %q", got)
	}
	if out := e.mustRun(t, "logs", id).Stdout; out != "try\ntry\ntry\n" {
		t.Errorf("on-failure:2 should run 3 times: %q", out)
	}
	// Exit 0 is not a failure.
	ok := e.detached(t, "--restart", "on-failure", "busybox", "true")
	waitUntil(t, 3*time.Second, "exited", func() bool { return e.field(t, ok, "{{.State.Status}}") == "exited" })
	time.Sleep(400 * time.Millisecond)
	if got := e.field(t, ok, "{{.RestartCount}}"); got != "0" {
		t.Errorf("on-failure restarted a container that exited 0: %s", got)
	}
	expectEngineError(t, e.run(t, "run", "-d", "--restart", "sometimes", "busybox", "true"))
	expectEngineError(t, e.run(t, "run", "-d", "--restart", "always:3", "busybox", "true"))
	expectEngineError(t, e.run(t, "run", "--rm", "--restart", "always", "busybox", "true"))
}

// always and unless-stopped restart whatever the code, with a growing
// back-off; stop disables the policy until start.
func TestRestartPolicyAlwaysStopStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, policy := range []string{"always", "unless-stopped"} {
		t.Run(policy, func(t *testing.T) {
			since := time.Now().Format(time.RFC3339Nano)
			id := e.detached(t, "--restart", policy, "busybox", "true")
			var starts []time.Time
			waitUntil(t, 10*time.Second, "5 starts", func() bool {
				starts = eventTimes(t, e, since, id, "start")
				return len(starts) >= 5
			})
			// Back-off 100, 200, 400, 800 ms before restarts 1 to 4 (the
			// gaps also hold the time a start takes).
			for i := 1; i < 5; i++ {
				backoff := 100 * time.Millisecond << (i - 1)
				if gap := starts[i].Sub(starts[i-1]); gap < backoff*9/10 {
					t.Errorf("restart %d came %s after the previous start, before its back-off of %s", i, gap, backoff)
				}
			}
			e.mustRun(t, "stop", "-t", "1", id)
			n := e.field(t, id, "{{.RestartCount}}")
			time.Sleep(2 * time.Second) // longer than the next back-off step
			if got := e.field(t, id, "{{.State.Status}} {{.RestartCount}}"); got != "exited "+n {
				t.Errorf("restarted after stop: %q (count was %s)", got, n)
			}
			e.mustRun(t, "start", id)
			waitUntil(t, 10*time.Second, "policy back after start", func() bool {
				m, _ := strconv.Atoi(e.field(t, id, "{{.RestartCount}}"))
				k, _ := strconv.Atoi(n)
				return m > k
			})
			e.mustRun(t, "rm", "-f", id)
		})
	}
}

// eventTimes returns the times of the container's events with this action.
func eventTimes(t *testing.T, e *engineEnv, since, id, action string) []time.Time {
	t.Helper()
	out := e.mustRun(t, "events", "--since", since, "--until", time.Now().Format(time.RFC3339Nano),
		"--filter", "container="+id, "--filter", "event="+action, "--format", "{{.TimeNano}}").Stdout
	var ts []time.Time
	for _, l := range lines(out) {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatalf("events --format {{.TimeNano}}: %q", l)
		}
		ts = append(ts, time.Unix(0, n))
	}
	return ts
}

func TestLogsFlags(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	// Short sleeps order the lines across the two pipes.
	id := e.detached(t, "busybox", "sh", "-c", "echo one; sleep 0.1; echo err1 >&2; sleep 1.2; echo two; echo three; sleep 0.1; echo err2 >&2")
	if code := e.field(t, id, "{{.State.Status}}"); code == "" {
		t.Fatal("no status")
	}
	r := e.mustRun(t, "wait", id)
	if strings.TrimSpace(r.Stdout) != "0" {
		t.Fatalf("wait: %s", r)
	}
	r = e.mustRun(t, "logs", id)
	if r.Stdout != "one\ntwo\nthree\n" || r.Stderr != "err1\nerr2\n" {
		t.Errorf("logs: stdout and stderr not kept apart: %s", r)
	}
	r = e.mustRun(t, "logs", "--tail", "2", id)
	if r.Stdout+r.Stderr != "three\nerr2\n" {
		t.Errorf("logs --tail 2: %s", r)
	}
	if r = e.mustRun(t, "logs", "--tail", "0", id); r.Stdout+r.Stderr != "" {
		t.Errorf("logs --tail 0: %s", r)
	}
	r = e.mustRun(t, "logs", "-t", id)
	ts := regexp.MustCompile(`(?m)^(\S+) (one|two)$`).FindAllStringSubmatch(r.Stdout, -1)
	if len(ts) != 2 {
		t.Fatalf("logs -t: %q", r.Stdout)
	}
	t1, err1 := time.Parse(time.RFC3339Nano, ts[0][1])
	t2, err2 := time.Parse(time.RFC3339Nano, ts[1][1])
	if err1 != nil || err2 != nil || t2.Sub(t1) < time.Second {
		t.Fatalf("logs -t timestamps %q %q (%v %v)", ts[0][1], ts[1][1], err1, err2)
	}
	mid := t1.Add(t2.Sub(t1) / 2).Format(time.RFC3339Nano)
	if r = e.mustRun(t, "logs", "--since", mid, id); r.Stdout != "two\nthree\n" || r.Stderr != "err2\n" {
		t.Errorf("logs --since %s: %s", mid, r)
	}
	if r = e.mustRun(t, "logs", "--until", mid, id); r.Stdout != "one\n" || r.Stderr != "err1\n" {
		t.Errorf("logs --until %s: %s", mid, r)
	}
	if r = e.mustRun(t, "logs", "--since", "1h", id); r.Stdout != "one\ntwo\nthree\n" {
		t.Errorf("logs --since 1h: %s", r)
	}
	// Docker's CLI exits 1 for these.
	expectFailure(t, e.run(t, "logs", "--tail", "x", id), "invalid --tail")
	expectFailure(t, e.run(t, "logs", "--since", "yesterday-ish", id), "invalid --since")
}

// logs -f prints what comes and ends when the container stops.
func TestLogsFollowEndsAtStop(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "echo first; sleep 1; echo second; sleep 60")
	done := make(chan result, 1)
	go func() { done <- e.exec(t, "", 30*time.Second, "logs", "-f", id) }()
	time.Sleep(1500 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("logs -f ended while the container runs: %s", r)
	default:
	}
	e.mustRun(t, "stop", "-t", "0", id)
	select {
	case r := <-done:
		if r.Code != 0 || r.Stdout != "first\nsecond\n" {
			t.Errorf("logs -f: %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("logs -f did not end when the container stopped")
	}
	// On an exited container -f returns at once.
	if r := e.mustRun(t, "logs", "-f", id); r.Stdout != "first\nsecond\n" {
		t.Errorf("logs -f of an exited container: %s", r)
	}
}

func TestLogRotation(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--log-opt", "max-size=10k", "--log-opt", "max-file=3", "busybox", "seq", "1", "20000")
	e.mustRun(t, "wait", id)
	logPath := e.field(t, id, "{{.LogPath}}")
	for i, name := range []string{logPath, logPath + ".1", logPath + ".2"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("rotated file %d: %v", i, err)
		}
		if fi.Size() > 12*1024 {
			t.Errorf("%s is %d bytes, over max-size=10k", filepath.Base(name), fi.Size())
		}
	}
	if _, err := os.Stat(logPath + ".3"); err == nil {
		t.Errorf("max-file=3 kept a fourth file")
	}
	out := lines(e.mustRun(t, "logs", id).Stdout)
	if len(out) == 0 || len(out) >= 20000 || out[len(out)-1] != "20000" {
		t.Fatalf("logs after rotation: %d lines, last %q", len(out), out[len(out)-1])
	}
	first, _ := strconv.Atoi(out[0])
	for i, l := range out { // what is kept is contiguous, oldest first
		if l != strconv.Itoa(first+i) {
			t.Fatalf("line %d is %q, want %d", i, l, first+i)
		}
	}
	if got := e.field(t, id, `{{index .HostConfig.LogConfig.Config "max-size"}}`); got != "10k" {
		t.Errorf("inspect LogConfig: %q", got)
	}
	for _, bad := range []string{"max-size=0", "max-size=lots", "max-file=0", "nope=1", "max-file=2"} {
		expectEngineError(t, e.run(t, "run", "-d", "--log-opt", bad, "busybox", "true"))
	}
}

// Ctrl-P Ctrl-Q leaves a `run -it` container running; attach takes the
// terminal back; its exit code becomes attach's.
func TestAttachDetachKeys(t *testing.T) {
	t.Parallel()
	name := uniqueName("tty")
	defaultEnv.removeAtEnd(t, name)
	s := startPTY(t, "run", "-it", "--name", name, "busybox", "sh")
	s.Send(`echo "A""B"`)
	s.Expect(`AB`, 10*time.Second)
	if _, err := s.tty.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	if code := s.Wait(10 * time.Second); code != 0 {
		t.Errorf("run -it after detaching: exit %d", code)
	}
	e := defaultEnv
	if st := e.psStatus(t, name); !strings.HasPrefix(st, "Up ") {
		t.Fatalf("detached container: %q", st)
	}
	// Detach from attach too, then attach again.
	a := startPTY(t, "attach", name)
	a.Send(`echo "E""F"`)
	a.Expect(`EF`, 10*time.Second)
	if _, err := a.tty.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	if code := a.Wait(10 * time.Second); code != 0 {
		t.Errorf("attach after detaching: exit %d", code)
	}
	if st := e.psStatus(t, name); !strings.HasPrefix(st, "Up ") {
		t.Fatalf("after detaching from attach: %q", st)
	}
	a = startPTY(t, "attach", name)
	a.Send(`echo "C""D"; exit 3`)
	a.Expect(`CD`, 10*time.Second)
	if code := a.Wait(10 * time.Second); code != 3 {
		t.Errorf("attach: exit %d, want the container's 3", code)
	}
	waitUntil(t, 2*time.Second, "Exited (3)", func() bool { return strings.HasPrefix(e.psStatus(t, name), "Exited (3)") })
	r := e.run(t, "attach", name)
	if r.Code == 0 || !strings.Contains(r.Stderr, "stopped container") {
		t.Errorf("attach to a stopped container: %s", r)
	}
}

// attach without a terminal: output streams, the exit code is returned.
func TestAttachNoTty(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "sleep 0.5; echo out; echo err >&2; exit 4")
	r := e.run(t, "attach", "--no-stdin", id)
	if r.Code != 4 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("attach: %s", r)
	}
}

// 20 parallel run -d with distinct names all succeed.
func TestParallelRunDistinctNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	res := make([]result, 20)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = e.run(t, "run", "-d", "--name", "p"+strconv.Itoa(i), "busybox", "sleep", "60")
		}(i)
	}
	wg.Wait()
	for i, r := range res {
		if r.Code != 0 || !hexID.MatchString(strings.TrimSpace(r.Stdout)) {
			t.Errorf("run %d: %s", i, r)
		}
	}
	if n := len(lines(e.mustRun(t, "ps", "-q").Stdout)); n != 20 {
		t.Errorf("ps shows %d running, want 20", n)
	}
	removeAllParallel(t, e)
}

// 10 parallel run --name same: one container, nine clear errors.
func TestParallelRunSameName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	res := make([]result, 10)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = e.run(t, "run", "-d", "--name", "same", "busybox", "sleep", "60")
		}(i)
	}
	wg.Wait()
	e.removeAtEnd(t, "same")
	won := 0
	for _, r := range res {
		switch {
		case r.Code == 0:
			won++
		case r.Code == 125 && strings.Contains(r.Stderr, `cocin: container name already in use`) && strings.Contains(r.Stderr, `"/same"`):
		default:
			t.Errorf("unexpected result: %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d runs won the name, want 1", won)
	}
	if n := len(lines(e.mustRun(t, "ps", "-a", "-q").Stdout)); n != 1 {
		t.Errorf("ps -a shows %d containers, want 1 (losers must leave nothing)", n)
	}
	ents, _ := os.ReadDir(filepath.Join(e.Root, "containers"))
	dirs := 0
	for _, d := range ents {
		if len(d.Name()) == 64 {
			dirs++
		}
	}
	if dirs != 1 {
		t.Errorf("%d container directories, want 1", dirs)
	}
}

// Parallel stop, rm and ps over the same containers never corrupt a
// record or crash; in the end everything is gone.
func TestParallelStopRmPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, e.detached(t, "busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []result
	do := func(args ...string) {
		defer wg.Done()
		r := e.run(t, args...)
		mu.Lock()
		all = append(all, r)
		mu.Unlock()
	}
	for _, id := range ids {
		wg.Add(4)
		go do("stop", "-t", "2", id)
		go do("stop", "-t", "2", id)
		go do("rm", "-f", id)
		go do("ps", "-a")
	}
	wg.Wait()
	for _, r := range all {
		if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") || r.Code == -1 {
			t.Errorf("crash: %s", r)
		}
		if r.Code != 0 && !strings.Contains(r.Stderr, "no such container") {
			t.Errorf("unexpected failure: %s", r)
		}
		if r.Args[0] == "ps" && r.Code != 0 {
			t.Errorf("ps failed: %s", r)
		}
	}
	// Every record left is valid JSON, then none is left.
	ents, _ := os.ReadDir(filepath.Join(e.Root, "containers"))
	for _, d := range ents {
		if b, err := os.ReadFile(filepath.Join(e.Root, "containers", d.Name(), "container.json")); err == nil && !json.Valid(b) {
			t.Errorf("corrupt record %s", d.Name())
		}
	}
	if out := e.mustRun(t, "ps", "-a", "-q").Stdout; out != "" {
		t.Errorf("containers left after rm -f: %q", out)
	}
}

func removeAllParallel(t *testing.T, e *engineEnv) {
	t.Helper()
	ids := lines(e.mustRun(t, "ps", "-a", "-q").Stdout)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id string) { defer wg.Done(); e.mustRun(t, "rm", "-f", id) }(id)
	}
	wg.Wait()
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "create", "--name", "before", "busybox", "true")
	e.removeAtEnd(t, "before")
	since := time.Now().Format(time.RFC3339Nano)
	// Follows by default and, without --since, shows only what happens
	// from now on (not the "before" container's create) until a signal.
	follow := e.command(context.Background(), "events", "--format", "{{.Action}} {{.Actor.Attributes.name}}",
		"--filter", "event=start", "--filter", "event=create")
	var followed bytes.Buffer
	follow.Stdout = &followed
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	e.mustRun(t, "run", "--name", "ev", "busybox", "true")
	e.mustRun(t, "rename", "ev", "ev2")
	e.mustRun(t, "rm", "ev2")
	until := time.Now().Format(time.RFC3339Nano)
	e.mustRun(t, "create", "--name", "later", "busybox", "true")
	e.removeAtEnd(t, "later")

	out := e.mustRun(t, "events", "--since", since, "--until", until, "--format", "{{.Status}} {{.Actor.Attributes.name}} {{.From}}").Stdout
	want := "create ev busybox\nstart ev busybox\ndie ev busybox\nrename ev2 busybox\ndestroy ev2 busybox\n"
	if out != want {
		t.Errorf("events --since --until --format:\nwant %q\ngot  %q", want, out)
	}
	checkDieJSON(t, e.mustRun(t, "events", "--since", since, "--until", until, "--filter", "event=die", "--format", "json").Stdout)
	out = e.mustRun(t, "events", "--since", since, "--until", "0s", "--filter", "container=later").Stdout
	if l := lines(out); len(l) != 1 || !regexp.MustCompile(`^\S+ container create [0-9a-f]{64} \(image=busybox, name=later\)$`).MatchString(l[0]) {
		t.Errorf("events --filter container=later: %q", out)
	}
	// Unix seconds reach the whole log, "before" included.
	if n := len(lines(e.mustRun(t, "events", "--since", "0", "--until", "0s").Stdout)); n != 7 {
		t.Errorf("events --since 0 --until 0s: %d events, want 7", n)
	}
	if err := stopEvents(follow, syscall.SIGINT); err != nil || followed.String() != "create ev\nstart ev\ncreate later\n" {
		t.Errorf("events following: %q, %v", followed.String(), err)
	}
	// --until in the future follows, then ends at that time.
	start := time.Now()
	e.mustRun(t, "events", "--since", "0", "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano))
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("events --until +1s ended after %v", d)
	}
	r := e.run(t, "events", "--filter", "bogus=1")
	if expectCode(t, r, 1); !strings.Contains(r.Stderr, "invalid filter 'bogus'") {
		t.Errorf("unknown filter: %s", r)
	}
}

// checkDieJSON checks a die event in Docker's shape.
func checkDieJSON(t *testing.T, out string) {
	t.Helper()
	var ev struct {
		Status, ID, From, Type, Action, Scope string
		Actor                                 struct {
			ID         string
			Attributes map[string]string
		}
		Time, TimeNano int64
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Action != "die" || ev.Status != "die" || ev.Type != "container" ||
		len(ev.ID) != 64 || ev.Actor.ID != ev.ID || ev.From != "busybox" || ev.Scope != "local" || ev.TimeNano/1e9 != ev.Time ||
		ev.Actor.Attributes["exitCode"] != "0" || ev.Actor.Attributes["name"] != "ev" || ev.Actor.Attributes["image"] != "busybox" {
		t.Errorf("events --filter event=die --format json: %q (%v)", out, err)
	}
}

// events following ends with exit 0 on SIGINT and SIGTERM, and reads the
// log's lines written in cocin's first format.
func TestEventsSignalAndOldLines(t *testing.T) {
	t.Parallel()
	e := newBareEnv(t)
	if err := os.MkdirAll(e.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	old := `{"Type":"container","Action":"die","ID":"` + strings.Repeat("1", 64) +
		`","Name":"old","Image":"busybox","Attributes":{"exitCode":"137"},"time":1700000000,"timeNano":1700000000000000001}` + "\n"
	if err := os.WriteFile(filepath.Join(e.Root, "events.log"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun(t, "events", "--since", "1700000000", "--until", "1700000001", "--format", "{{json .}}").Stdout
	if !strings.Contains(out, `"Actor":{"ID":"`+strings.Repeat("1", 64)+`","Attributes":{"exitCode":"137","image":"busybox","name":"old"}}`) {
		t.Errorf("old line: %q", out)
	}
	cmd := e.command(context.Background(), "events", "--since", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := stopEvents(cmd, syscall.SIGTERM); err != nil {
		t.Errorf("events --since 0: %v", err)
	}
}

// stopEvents signals a following `cocin events` and returns how it ended:
// nil for exit 0.
func stopEvents(cmd *exec.Cmd, sig syscall.Signal) error {
	_ = cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not end on %v", sig)
	}
}

// system df counts; system prune removes stopped containers and dangling
// images, keeps running ones, and repairs what crashed commands left.
func TestSystemDfPrune(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	up := e.detached(t, "--name", "up", "busybox", "sleep", "60")
	e.mustRun(t, "run", "--name", "done", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big")
	e.mustRun(t, "import", busyboxTar, "extra") // tagged, unused
	dangling := strings.TrimSpace(e.mustRun(t, "import", busyboxTar).Stdout)

	df := e.mustRun(t, "system", "df").Stdout
	if !regexp.MustCompile(`(?m)^Containers\s+2\s+1\s`).MatchString(df) || !regexp.MustCompile(`(?m)^Images\s+\d+\s+1\s`).MatchString(df) {
		t.Errorf("system df:\n%s", df)
	}
	// Half-made leftovers: a container directory with no record, runtime
	// state of no container.
	ghost := strings.Repeat("ab", 32)
	if err := os.MkdirAll(filepath.Join(e.Root, "containers", ghost, "upper"), 0o700); err != nil {
		t.Fatal(err)
	}
	ghostRT := filepath.Join(e.RunRoot, "runtime", strings.Repeat("cd", 32))
	if err := os.MkdirAll(ghostRT, 0o700); err != nil {
		t.Fatal(err)
	}

	// Without -f it asks; "n" changes nothing.
	r := e.exec(t, "n\n", defaultTimeout, "system", "prune")
	if !strings.Contains(r.Stdout, "Are you sure") || e.run(t, "inspect", "done").Code != 0 {
		t.Errorf("prune without -f did not ask or did not stop: %s", r)
	}
	r = e.mustRun(t, "system", "prune", "-f")
	if !strings.Contains(r.Stdout, "Deleted Containers:") || !strings.Contains(r.Stdout, "Repaired:") ||
		!strings.Contains(r.Stdout, "Total reclaimed space:") {
		t.Errorf("prune report: %s", r)
	}
	if e.run(t, "inspect", "done").Code == 0 {
		t.Error("prune kept a stopped container")
	}
	if st := e.field(t, up, "{{.State.Status}}"); st != "running" {
		t.Errorf("prune touched a running container: %s", st)
	}
	for _, p := range []string{filepath.Join(e.Root, "containers", ghost), ghostRT} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("prune left %s", p)
		}
	}
	images := e.mustRun(t, "images", "-q").Stdout
	if strings.Contains(images, strings.TrimPrefix(dangling, "sha256:")[:12]) {
		t.Errorf("prune kept the dangling image %s:\n%s", dangling, images)
	}
	if !strings.Contains(e.mustRun(t, "images").Stdout, "extra") {
		t.Error("prune without -a removed a tagged image")
	}
	e.mustRun(t, "system", "prune", "-f", "-a")
	imgs := e.mustRun(t, "images").Stdout
	if strings.Contains(imgs, "extra") || !strings.Contains(imgs, "busybox") {
		t.Errorf("prune -a: want extra gone, busybox (in use) kept:\n%s", imgs)
	}
}

// stop and rm of a container waiting in its restart back-off: stop marks
// it exited at once, start runs it again, rm -f removes it, and the
// sleeping monitor neither restarts nor remounts it afterwards.
func TestStopRmDuringBackoff(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--restart", "always", "busybox", "sh", "-c", "exit 2")
	// Back-offs grow to 1.6 s after 5 restarts: catch it restarting.
	waitUntil(t, 15*time.Second, "a long back-off", func() bool {
		return e.field(t, id, "{{.State.Status}} {{.RestartCount}}") == "restarting 5"
	})
	e.mustRun(t, "stop", id)
	if st := e.field(t, id, "{{.State.Status}}"); st != "exited" {
		t.Errorf("stop during the back-off: %s", st)
	}
	time.Sleep(2 * time.Second)
	if got := e.field(t, id, "{{.State.Status}} {{.RestartCount}}"); got != "exited 5" {
		t.Errorf("restarted after stop during the back-off: %q", got)
	}
	id2 := e.detached(t, "--restart", "always", "busybox", "sh", "-c", "exit 2")
	waitUntil(t, 15*time.Second, "a long back-off", func() bool {
		return e.field(t, id2, "{{.State.Status}} {{.RestartCount}}") == "restarting 5"
	})
	e.mustRun(t, "rm", "-f", id2)
	time.Sleep(2 * time.Second) // the monitor wakes: it must not mount again
	for _, mp := range mountPoints() {
		if strings.Contains(mp, id2) {
			t.Errorf("mount of a removed container: %s", mp)
		}
	}
	if r := e.run(t, "inspect", id2); r.Code == 0 {
		t.Errorf("removed container is back")
	}
}

// Two installations given the same cgroup parent: prune in one repairs
// only its own leftovers and never kills the other's containers.
func TestSystemPruneKeepsOtherInstallation(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := newBareEnv(t)
	b.CgroupParent = a.CgroupParent
	up := a.detached(t, "--network", "none", "busybox", "sleep", "60")
	b.mustRun(t, "system", "prune", "-f", "-a")
	if st := a.field(t, up, "{{.State.Status}}"); st != "running" {
		t.Fatalf("prune of another root under the same cgroup parent: container is %s", st)
	}
	a.mustRun(t, "rm", "-f", up)
}
