package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A detached container's own exit shows in ps as "Exited (code)" within a
// second, with its code and end time recorded.
func TestDetachedExitShowsInPs(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "sleep 1; exit 3")
	started := time.Now()
	if st := e.psStatus(t, id); !strings.HasPrefix(st, "Up ") {
		t.Errorf("ps right after run -d: want \"Up ...\", got %q", st)
	}
	// The process ends 1 s after start; allow one more second.
	waitUntil(t, 2*time.Second+500*time.Millisecond, "ps shows Exited (3)", func() bool {
		return strings.HasPrefix(e.psStatus(t, id), "Exited (3) ")
	})
	if d := time.Since(started); d < time.Second {
		t.Errorf("exited after %s, before its sleep ended", d)
	}
	if got := e.field(t, id, "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"); got != "exited 3 false" {
		t.Errorf("inspect: want \"exited 3 false\", got %q", got)
	}
	if pid := e.monitorPid(t, id); pid != 0 {
		t.Errorf("record still names a monitor (pid %d) after the exit", pid)
	}
	// ps without -a lists only running containers.
	if out := e.mustRun(t, "ps", "-q", "--no-trunc").Stdout; strings.Contains(out, id) {
		t.Errorf("ps lists an exited container without -a: %q", out)
	}
}

// The monitor outlives the CLI, is the container's parent and exits once
// the container is gone.
func TestMonitorIsParentAndExits(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sleep", "30")
	mon := e.monitorPid(t, id)
	if !alive(mon) {
		t.Fatalf("monitor %d not running after run -d returned", mon)
	}
	comm := readProc(t, mon, "comm")
	if !strings.HasPrefix(comm, "cocin") {
		t.Errorf("monitor's comm: %q", comm)
	}
	pid := atoiT(t, e.field(t, id, "{{.State.Pid}}"))
	if ppid := procPPid(t, pid); ppid != mon {
		t.Errorf("container init %d has parent %d, want the monitor %d", pid, ppid, mon)
	}
	// The monitor's own signal handling does not leak into the container
	// (an inherited SIG_IGN for SIGHUP/SIGINT made `kill -s HUP` a no-op).
	for _, l := range strings.Split(readProc(t, pid, "status"), "\n") {
		if strings.HasPrefix(l, "SigIgn:") && strings.Trim(strings.TrimPrefix(l, "SigIgn:"), " \t0") != "" {
			t.Errorf("the container starts with ignored signals: %s", l)
		}
	}
	e.mustRun(t, "stop", "-t", "0", id)
	waitUntil(t, 5*time.Second, "monitor exits after the container stopped", func() bool { return !alive(mon) })
	if st := e.psStatus(t, id); !strings.HasPrefix(st, "Exited (137)") {
		t.Errorf("after stop -t 0: %q", st)
	}
}

func TestCreateStartWait(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	name := uniqueName("create")
	r := e.mustRun(t, "create", "--name", name, "busybox", "sh", "-c", "echo started; exit 4")
	id := strings.TrimSpace(r.Stdout)
	if !hexID.MatchString(id) {
		t.Fatalf("create did not print an ID: %s", r)
	}
	e.removeAtEnd(t, id)
	if st := e.psStatus(t, id); st != "Created" {
		t.Errorf("after create: want Created, got %q", st)
	}
	e.mustRun(t, "start", name)
	r = e.run(t, "wait", name)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "4" {
		t.Errorf("wait: want 4: %s", r)
	}
	if out := e.mustRun(t, "logs", name).Stdout; out != "started\n" {
		t.Errorf("logs after start: %q", out)
	}
	// start -a attaches: the output, and the container's code as ours.
	r = e.run(t, "start", "-a", name)
	if r.Code != 4 || r.Stdout != "started\n" {
		t.Errorf("start -a: want output and exit 4: %s", r)
	}
	// wait on a --rm container gets its code although the record is gone.
	rmID := strings.TrimSpace(e.mustRun(t, "run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.5; exit 6").Stdout)
	if r := e.run(t, "wait", rmID); r.Code != 0 || strings.TrimSpace(r.Stdout) != "6" {
		t.Errorf("wait on a --rm container: %s", r)
	}
	// start -i: our stdin reaches a container created with -i.
	cat := uniqueName("cat")
	e.mustRun(t, "create", "-i", "--name", cat, "busybox", "cat")
	e.removeAtEnd(t, cat)
	r = e.exec(t, "via stdin\n", defaultTimeout, "start", "-a", "-i", cat)
	if r.Code != 0 || r.Stdout != "via stdin\n" {
		t.Errorf("start -a -i: %s", r)
	}
	// Commands over several containers fail with 1, as Docker's do.
	r = e.run(t, "start", "no-such-"+randomHex(4))
	if r.Code != 1 || !strings.Contains(r.Stderr, "cocin: no such container") {
		t.Errorf("start of a missing container: %s", r)
	}
}

func TestRestartCommand(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "echo run; trap 'exit 0' TERM; sleep 60 & wait")
	pid1 := e.field(t, id, "{{.State.Pid}}")
	start := time.Now()
	e.mustRun(t, "restart", "-t", "5", id)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("restart took %s although the container exits on SIGTERM", d)
	}
	if got := e.field(t, id, "{{.State.Status}}"); got != "running" {
		t.Fatalf("after restart: %q", got)
	}
	if pid2 := e.field(t, id, "{{.State.Pid}}"); pid2 == pid1 {
		t.Errorf("restart kept the same process %s", pid1)
	}
	waitUntil(t, 3*time.Second, "two runs in the log", func() bool {
		return e.mustRun(t, "logs", id).Stdout == "run\nrun\n"
	})
}

func TestStopTimeoutAndSignals(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	t.Run("SIGTERM handled", func(t *testing.T) {
		t.Parallel()
		id := e.detached(t, "busybox", "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done")
		time.Sleep(300 * time.Millisecond) // let the shell set its trap
		r := e.mustRun(t, "stop", id)
		if strings.TrimSpace(r.Stdout) != id {
			t.Errorf("stop prints the reference it was given: %s", r)
		}
		if got := e.field(t, id, "{{.State.ExitCode}}"); got != "7" {
			t.Errorf("exit code after a handled SIGTERM: %s", got)
		}
	})
	t.Run("SIGKILL at the timeout", func(t *testing.T) {
		t.Parallel()
		id := e.detached(t, "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		e.mustRun(t, "stop", "-t", "1", id)
		d := time.Since(start)
		if d < 900*time.Millisecond || d > 5*time.Second {
			t.Errorf("stop -t 1 of a container ignoring SIGTERM took %s", d)
		}
		if st := e.psStatus(t, id); !strings.HasPrefix(st, "Exited (137)") {
			t.Errorf("want Exited (137): %q", st)
		}
	})
	t.Run("--signal", func(t *testing.T) {
		t.Parallel()
		id := e.detached(t, "busybox", "sh", "-c", "trap 'exit 5' USR1; while true; do sleep 0.1; done")
		time.Sleep(300 * time.Millisecond)
		e.mustRun(t, "stop", "--signal", "USR1", "-t", "5", id)
		if got := e.field(t, id, "{{.State.ExitCode}}"); got != "5" {
			t.Errorf("stop --signal USR1: exit code %s", got)
		}
	})
	t.Run("image STOPSIGNAL", func(t *testing.T) {
		t.Parallel()
		img := "stopsig-" + randomHex(4)
		e.mustRun(t, "import", "-c", "STOPSIGNAL SIGUSR2", busyboxTar, img)
		t.Cleanup(func() { e.run(t, "rmi", "-f", img) })
		id := e.detached(t, img, "sh", "-c", "trap 'exit 6' USR2; while true; do sleep 0.1; done")
		time.Sleep(300 * time.Millisecond)
		e.mustRun(t, "stop", "-t", "5", id)
		if got := e.field(t, id, "{{.State.ExitCode}} {{.Config.StopSignal}}"); got != "6 SIGUSR2" {
			t.Errorf("stop with the image's STOPSIGNAL: %q", got)
		}
	})
	t.Run("bad signal", func(t *testing.T) {
		t.Parallel()
		id := e.detached(t, "busybox", "sleep", "30")
		r := e.run(t, "stop", "--signal", "NOPE", id)
		if r.Code == 0 || !strings.Contains(r.Stderr, "cocin: ") {
			t.Errorf("stop --signal NOPE: %s", r)
		}
	})
}

func TestKill(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "trap 'exit 9' HUP; while true; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	e.mustRun(t, "kill", "-s", "HUP", id)
	waitUntil(t, 3*time.Second, "exit after SIGHUP", func() bool { return e.field(t, id, "{{.State.Status}}") == "exited" })
	if got := e.field(t, id, "{{.State.ExitCode}}"); got != "9" {
		t.Errorf("kill -s HUP: exit code %s", got)
	}
	// Default SIGKILL.
	id2 := e.detached(t, "busybox", "sleep", "30")
	e.mustRun(t, "kill", id2)
	waitUntil(t, 3*time.Second, "exit after SIGKILL", func() bool { return e.field(t, id2, "{{.State.ExitCode}}") == "137" })
	// Killing a stopped container is an error.
	r := e.run(t, "kill", id2)
	if r.Code == 0 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("kill of an exited container: %s", r)
	}
}

func TestRmSeveralAndForce(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	running := e.detached(t, "busybox", "sleep", "30")
	a, b := uniqueName("rm-a"), uniqueName("rm-b")
	e.mustRun(t, "create", "--name", a, "busybox", "true")
	e.mustRun(t, "create", "--name", b, "busybox", "true")
	r := e.run(t, "rm", running)
	if r.Code == 0 || !strings.Contains(r.Stderr, "running") {
		t.Errorf("rm of a running container without -f: %s", r)
	}
	if st := e.field(t, running, "{{.State.Status}}"); st != "running" {
		t.Errorf("a refused rm changed the container: %s", st)
	}
	// Several at once, one of them missing: the others go, the command fails.
	missing := "no-such-" + randomHex(4)
	r = e.run(t, "rm", "-v", a, missing, b)
	if r.Code == 0 || !strings.Contains(r.Stderr, missing) {
		t.Errorf("rm with a missing name: %s", r)
	}
	if r.Stdout != a+"\n"+b+"\n" {
		t.Errorf("rm prints each removed reference: %q", r.Stdout)
	}
	r = e.mustRun(t, "rm", "-f", running)
	for _, ref := range []string{a, b, running} {
		if r := e.run(t, "inspect", ref); r.Code == 0 {
			t.Errorf("%s still exists after rm", ref)
		}
	}
	// The name is free again.
	e.mustRun(t, "create", "--name", a, "busybox", "true")
	e.mustRun(t, "rm", a)
}

func TestRename(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	old, nu, taken := uniqueName("old"), uniqueName("new"), uniqueName("taken")
	e.mustRun(t, "create", "--name", old, "busybox", "true")
	e.removeAtEnd(t, nu)
	e.removeAtEnd(t, old)
	e.mustRun(t, "create", "--name", taken, "busybox", "true")
	e.removeAtEnd(t, taken)
	e.mustRun(t, "rename", old, nu)
	if got := e.field(t, nu, "{{.Name}}"); got != "/"+nu {
		t.Errorf("after rename: %q", got)
	}
	if r := e.run(t, "inspect", old); r.Code == 0 {
		t.Errorf("old name still resolves")
	}
	expectClientError(t, e.run(t, "rename", nu, taken))
	expectClientError(t, e.run(t, "rename", nu, "bad/name"))
	if got := e.field(t, nu, "{{.Name}}"); got != "/"+nu {
		t.Errorf("a failed rename changed the name: %q", got)
	}
	// The old name can be reused.
	e.mustRun(t, "create", "--name", old, "busybox", "true")
}

func TestPauseUnpause(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done")
	time.Sleep(300 * time.Millisecond)
	e.mustRun(t, "pause", id)
	if st := e.psStatus(t, id); !strings.HasSuffix(st, "(Paused)") {
		t.Errorf("ps of a paused container: %q", st)
	}
	if got := e.field(t, id, "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"); got != "paused true true" {
		t.Errorf("inspect of a paused container: %q", got)
	}
	n1 := len(lines(e.mustRun(t, "logs", id).Stdout))
	time.Sleep(400 * time.Millisecond)
	if n2 := len(lines(e.mustRun(t, "logs", id).Stdout)); n2 != n1 {
		t.Errorf("a paused container kept writing: %d then %d lines", n1, n2)
	}
	expectFailure(t, e.run(t, "pause", id), "is already paused")
	e.mustRun(t, "unpause", id)
	waitUntil(t, 2*time.Second, "output resumes", func() bool { return len(lines(e.mustRun(t, "logs", id).Stdout)) > n1 })
	expectFailure(t, e.run(t, "unpause", id), "not paused")
	// Stopping a paused container works.
	e.mustRun(t, "pause", id)
	e.mustRun(t, "stop", "-t", "1", id)
	if st := e.field(t, id, "{{.State.Status}}"); st != "exited" {
		t.Errorf("stop of a paused container: %s", st)
	}
}

func TestTop(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "busybox", "sh", "-c", "sleep 41 & sleep 42")
	var out string
	waitUntil(t, 3*time.Second, "both sleeps in top", func() bool {
		out = e.mustRun(t, "top", id).Stdout
		return strings.Contains(out, "sleep 41") && strings.Contains(out, "sleep 42")
	})
	if !strings.HasPrefix(out, "UID") || !strings.Contains(out, "PID") || !strings.Contains(out, "CMD") {
		t.Errorf("top header: %q", out)
	}
	e.mustRun(t, "stop", "-t", "0", id)
	expectClientError(t, e.run(t, "top", id))
}

func TestInspect(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	name := uniqueName("insp")
	id := e.detached(t, "--name", name, "--restart", "on-failure:3", "-e", "FOO=bar", "busybox", "sleep", "30")
	r := e.mustRun(t, "inspect", name)
	var v []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("inspect is not a JSON array of one: %v\n%s", err, r.Stdout)
	}
	d := v[0]
	st, _ := d["State"].(map[string]any)
	hc, _ := d["HostConfig"].(map[string]any)
	cfg, _ := d["Config"].(map[string]any)
	if d["Id"] != id || d["Name"] != "/"+name || st["Status"] != "running" || st["Running"] != true {
		t.Errorf("inspect Id/Name/State: %v %v %v", d["Id"], d["Name"], st)
	}
	if rp, _ := hc["RestartPolicy"].(map[string]any); rp["Name"] != "on-failure" || rp["MaximumRetryCount"] != 3.0 {
		t.Errorf("HostConfig.RestartPolicy: %v", hc["RestartPolicy"])
	}
	if !strings.Contains(strings.Join(toStrings(cfg["Env"]), " "), "FOO=bar") {
		t.Errorf("Config.Env: %v", cfg["Env"])
	}
	if got := e.field(t, id, `{{.Path}} {{join .Args ","}} {{json .State.Running}}`); got != "sleep 30 true" {
		t.Errorf("--format with functions: %q", got)
	}
	// Several at once, one missing: the others print, exit 1.
	r = e.run(t, "inspect", "--format", "{{.Id}}", id, "no-such-"+randomHex(4))
	if r.Code == 0 || strings.TrimSpace(r.Stdout) != id {
		t.Errorf("inspect with a missing one: %s", r)
	}
	r = e.run(t, "inspect", "--format", "{{.Nope", id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "template") {
		t.Errorf("bad template: %s", r)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// ps flags, on an installation of our own so the listing is known.
func TestPsFlagsAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	up := e.detached(t, "--name", "up1", "busybox", "sleep", "30")
	expectCode(t, e.run(t, "run", "--name", "ex3", "busybox", "sh", "-c", "exit 3"), 3)
	e.removeAtEnd(t, "ex3")
	ex := e.field(t, "ex3", "{{.Id}}")
	e.mustRun(t, "create", "--name", "cr", "busybox", "true")
	e.removeAtEnd(t, "cr")
	cr := e.field(t, "cr", "{{.Id}}")

	check := func(want []string, args ...string) {
		t.Helper()
		got := lines(e.mustRun(t, args...).Stdout)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("cocin %s: want %v, got %v", strings.Join(args, " "), want, got)
		}
	}
	check([]string{up[:12]}, "ps", "-q")
	check([]string{cr[:12], ex[:12], up[:12]}, "ps", "-a", "-q") // newest first
	check([]string{cr}, "ps", "-q", "--no-trunc", "-l")
	check([]string{cr[:12], ex[:12]}, "ps", "-q", "-n", "2")
	check([]string{ex[:12]}, "ps", "-a", "-q", "--filter", "status=exited")
	check([]string{cr[:12], up[:12]}, "ps", "-a", "-q", "--filter", "status=created", "--filter", "status=running")
	check([]string{up[:12]}, "ps", "-a", "-q", "--filter", "name=up")
	check([]string{ex[:12]}, "ps", "-a", "-q", "--filter", "id="+ex[:8])
	check([]string{cr[:12], ex[:12], up[:12]}, "ps", "-a", "-q", "--filter", "ancestor=busybox")
	check(nil, "ps", "-a", "-q", "--filter", "ancestor=other")
	check([]string{ex[:12]}, "ps", "-a", "-q", "--filter", "exited=3")
	check([]string{"ex3|exited|Exited (3)"}, "ps", "-a", "--filter", "name=ex3", "--format", "{{.Names}}|{{.State}}|{{slice .Status 0 10}}")

	r := e.mustRun(t, "ps", "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &row); err != nil {
		t.Fatalf("ps --format json: %v\n%s", err, r.Stdout)
	}
	if row["ID"] != up[:12] || row["Names"] != "up1" || !strings.HasPrefix(row["Status"], "Up ") {
		t.Errorf("ps --format json: %v", row)
	}
	tbl := lines(e.mustRun(t, "ps", "--format", "table {{.ID}}\t{{.Names}}").Stdout)
	if len(tbl) != 2 || !regexp.MustCompile(`^CONTAINER ID\s+NAMES$`).MatchString(tbl[0]) || !strings.Contains(tbl[1], "up1") {
		t.Errorf("ps --format table: %q", tbl)
	}
	def := lines(e.mustRun(t, "ps", "-a").Stdout)
	if len(def) != 4 || !regexp.MustCompile(`CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS`).MatchString(def[0]) {
		t.Errorf("ps -a table: %q", def)
	}
	// Docker's CLI exits 1 for these (125 is for run and flag errors).
	expectFailure(t, e.run(t, "ps", "--filter", "bogus=1"), "invalid filter 'bogus'")
	expectFailure(t, e.run(t, "ps", "--filter", "novalue"), "bad format of filter")
	expectFailure(t, e.run(t, "ps", "--format", "{{.Nope}}"), "Nope")
}

// Every command takes a name, a full ID or a unique prefix; an ambiguous
// prefix is an error that changes nothing.
func TestIDPrefixes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 17 containers: two of them share a first hex digit.
	byDigit := map[byte][]string{}
	var shared []string
	for i := 0; i < 17 && shared == nil; i++ {
		id := strings.TrimSpace(e.mustRun(t, "create", "busybox", "true").Stdout)
		e.removeAtEnd(t, id)
		byDigit[id[0]] = append(byDigit[id[0]], id)
		if len(byDigit[id[0]]) == 2 {
			shared = byDigit[id[0]]
		}
	}
	if shared == nil {
		t.Fatal("no two of 17 IDs share a first digit")
	}
	p := commonPrefix(shared[0], shared[1])
	for _, cmd := range [][]string{{"inspect"}, {"rm"}, {"start"}, {"logs"}, {"rename"}} {
		args := append(append([]string{}, cmd...), p)
		if cmd[0] == "rename" {
			args = append(args, "x"+randomHex(3))
		}
		r := e.run(t, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "ambiguous") && !strings.Contains(r.Stderr, "multiple") {
			t.Errorf("ambiguous prefix %q: %s", p, r)
		}
	}
	for _, id := range shared {
		if st := e.psStatus(t, id); st != "Created" {
			t.Errorf("an ambiguous command changed %s: %q", id[:12], st)
		}
		// One more digit is unique; so are the full ID and the name.
		uniq := id[:len(p)+1]
		if got := e.field(t, uniq, "{{.Id}}"); got != id {
			t.Errorf("prefix %s resolves to %s, want %s", uniq, got, id)
		}
		name := strings.TrimPrefix(e.field(t, id, "{{.Name}}"), "/")
		if got := e.field(t, name, "{{.Id}}"); got != id {
			t.Errorf("name %s resolves to %s", name, got)
		}
	}
	e.mustRun(t, "rm", shared[0][:len(p)+1])
	if r := e.run(t, "inspect", "zz-no-such"); r.Code != 1 || !strings.Contains(r.Stderr, "no such object") {
		t.Errorf("unknown name: %s", r)
	}
}

func commonPrefix(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i]
}
