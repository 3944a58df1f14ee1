package integration

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPsFilterDocker: name= is an unanchored regular expression, a
// status= filter looks at stopped containers without -a, and bad filters
// are refused with Docker's messages and exit code 1.
func TestPsFilterDocker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	web := e.detached(t, "--network", "none", "--name", "web", "busybox", "sleep", "60")
	myweb := e.detached(t, "--network", "none", "--name", "myweb1", "busybox", "sleep", "60")
	e.mustRun(t, "create", "--network", "none", "--name", "db", "busybox", "true")
	e.removeAtEnd(t, "db")

	check := func(want []string, args ...string) {
		t.Helper()
		got := lines(e.mustRun(t, args...).Stdout)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("cocin %s: want %v, got %v", strings.Join(args, " "), want, got)
		}
	}
	check([]string{myweb[:12], web[:12]}, "ps", "-q", "--filter", "name=web")
	check([]string{web[:12]}, "ps", "-q", "--filter", "name=^web$")
	check([]string{myweb[:12]}, "ps", "-q", "--filter", "name=web[0-9]")
	check([]string{myweb[:12]}, "ps", "-q", "--filter", "since=web")
	check(nil, "ps", "-q", "--filter", "name=^eb")
	// status= implies -a, as Docker's.
	check([]string{"db"}, "ps", "--filter", "status=created", "--format", "{{.Names}}")

	for filter, msg := range map[string]string{
		"status=foo": "invalid filter 'status=foo'",
		"foo=bar":    "invalid filter 'foo'",
		"name=[":     "invalid filter 'name=['",
		"exited=x":   "invalid filter 'exited=x'",
		"before=zz":  "no such container: zz",
	} {
		expectFailure(t, e.run(t, "ps", "-a", "--filter", filter), msg)
	}
}

// TestFormatTableHeaders: `--format 'table ...'` prints Docker's column
// titles, not the template's field names, in every listing command.
func TestFormatTableHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.detached(t, "--network", "none", "--name", "hdr", "busybox", "sleep", "60")
	e.mustRun(t, "volume", "create", "hdrvol")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ps", "--format", `table {{.ID}}\t{{.Names}}\t{{.RunningFor}}\t{{.State}}`}, `^CONTAINER ID\s+NAMES\s+CREATED\s+STATE$`},
		{[]string{"ps", "--format", `table {{.Image}}\t{{.Command}}\t{{.Status}}\t{{.Ports}}\t{{.Networks}}`}, `^IMAGE\s+COMMAND\s+STATUS\s+PORTS\s+NETWORKS$`},
		{[]string{"images", "--format", `table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`}, `^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`},
		{[]string{"volume", "ls", "--format", `table {{.Driver}}\t{{.Name}}`}, `^DRIVER\s+VOLUME NAME$`},
		{[]string{"network", "ls", "--format", `table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}`}, `^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$`},
		{[]string{"network", "ls"}, `^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$`},
		{[]string{"stats", "--no-stream", "--format", `table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.PIDs}}`}, `^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+PIDS$`},
	}
	for _, c := range cases {
		out := lines(e.mustRun(t, c.args...).Stdout)
		if len(out) == 0 || !regexp.MustCompile(c.want).MatchString(out[0]) {
			t.Errorf("cocin %s: header %q, want %s", strings.Join(c.args, " "), out, c.want)
		}
	}
	e.mustRun(t, "volume", "rm", "hdrvol")
}

// TestLogsTailTimestamps: --tail counts lines of both streams, a last
// line without a newline included, and 0 prints nothing (-f then prints
// only what comes); --tail reaches into rotated files; -t timestamps are
// UTC with nine fraction digits; an unknown container exits 1.
func TestLogsTailTimestamps(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "busybox", "sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; printf last")
	e.mustRun(t, "wait", id)
	for n, want := range map[string][2]string{"0": {"", ""}, "1": {"last", ""}, "2": {"last", "two\n"}, "50": {"one\nlast", "two\n"}} {
		if r := e.mustRun(t, "logs", "--tail", n, id); r.Stdout != want[0] || r.Stderr != want[1] {
			t.Errorf("logs --tail %s: %s", n, r)
		}
	}
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two|last)$`)
	r := e.mustRun(t, "logs", "-t", id)
	for _, l := range append(lines(r.Stdout), lines(r.Stderr)...) {
		if !ts.MatchString(l) {
			t.Errorf("logs -t line %q is not RFC 3339 with 9 digits in UTC", l)
		}
	}
	expectFailure(t, e.run(t, "logs", "no-such-"+randomHex(4)), "no such container")

	// -f --tail 0 prints only what comes after.
	live := e.detached(t, "--network", "none", "busybox", "sh", "-c", "echo before; sleep 1.5; echo after; sleep 60")
	waitUntil(t, 10*time.Second, "the first line", func() bool { return e.mustRun(t, "logs", live).Stdout == "before\n" })
	done := make(chan result, 1)
	go func() { done <- e.exec(t, "", 30*time.Second, "logs", "-f", "--tail", "0", live) }()
	time.Sleep(2500 * time.Millisecond)
	e.mustRun(t, "stop", "-t", "0", live)
	if r := <-done; r.Stdout != "after\n" {
		t.Errorf("logs -f --tail 0: %s", r)
	}

	// Rotated: 3 files of at most 2 kB; the last 300 lines span them.
	rot := e.detached(t, "--network", "none", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox", "seq", "1", "1000")
	e.mustRun(t, "wait", rot)
	r = e.mustRun(t, "logs", "--tail", "40", rot)
	got := lines(r.Stdout)
	if len(got) != 40 || got[0] != "961" || got[39] != "1000" {
		t.Errorf("logs --tail 40 of a rotated log: %d lines, %q...", len(got), got)
	}
	logPath := e.field(t, rot, "{{.LogPath}}")
	if fi, err := os.Stat(logPath); err != nil || fi.Size() > 2048 {
		t.Fatalf("the log did not rotate: %v", err)
	}
	cur, _ := os.ReadFile(logPath)
	n := strings.Count(string(cur), "\n")
	r = e.mustRun(t, "logs", "--tail", strconv.Itoa(n+5), rot)
	if got := lines(r.Stdout); len(got) != n+5 || got[len(got)-1] != "1000" {
		t.Errorf("logs --tail %d (current file holds %d): %d lines", n+5, n, len(got))
	}
}

// reclaimed parses "Total reclaimed space: 1.234MB" into bytes.
func reclaimed(t *testing.T, out string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Total reclaimed space: ([0-9.]+)(B|kB|MB|GB)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no total in %q", out)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return n * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
}

// TestSystemDfVolumesAndPruneSpace: system df has Docker's four rows,
// volumes counted by use; every prune reports the space it freed.
func TestSystemDfVolumesAndPruneSpace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "volume", "create", "used")
	e.mustRun(t, "volume", "create", "idle")
	e.detached(t, "--network", "none", "-v", "used:/u", "busybox", "sh", "-c", "head -c 300000 /dev/zero > /u/f; sleep 60")
	e.mustRun(t, "run", "--network", "none", "-v", "idle:/i", "--rm", "busybox", "sh", "-c", "head -c 200000 /dev/zero > /i/f")
	waitUntil(t, 10*time.Second, "the used volume's data", func() bool {
		fi, err := os.Stat(e.Root + "/volumes/used/_data/f")
		return err == nil && fi.Size() == 300000
	})
	df := e.mustRun(t, "system", "df").Stdout
	for _, row := range []string{
		`(?m)^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$`,
		`(?m)^Local Volumes\s+2\s+1\s+500kB\s+200kB \(40%\)$`,
		`(?m)^Build Cache\s+0\s+0\s+0B\s+0B$`,
	} {
		if !regexp.MustCompile(row).MatchString(df) {
			t.Errorf("system df: no %s in\n%s", row, df)
		}
	}

	// A stopped container's writable layer, an anonymous volume's data.
	e.mustRun(t, "run", "--network", "none", "-v", "/anon", "busybox", "sh", "-c", "head -c 1500000 /dev/zero > /big; head -c 700000 /dev/zero > /anon/f")
	got := reclaimed(t, e.mustRun(t, "system", "prune", "-f", "--volumes").Stdout)
	if got < 2.2e6 || got > 2.3e6 {
		t.Errorf("system prune --volumes reclaimed %.0f bytes, want 2.2MB", got)
	}
	r := e.mustRun(t, "volume", "prune", "-a", "-f")
	if got := reclaimed(t, r.Stdout); got != 200000 || !strings.Contains(r.Stdout, "Deleted Volumes:\nidle\n\n") {
		t.Errorf("volume prune -a: %s", r)
	}
	// An image of its own layer frees its layer; one sharing busybox's
	// layer frees only its config and manifest.
	dfImages := func() string {
		return regexp.MustCompile(`(?m)^Images\s+\d+\s+\d+\s+(\S+)`).FindStringSubmatch(e.mustRun(t, "system", "df").Stdout + "Images 0 0 none")[1]
	}
	before := dfImages()
	e.mustRun(t, "import", busyboxTar, "same")
	// A layer two images share counts once, as with Docker.
	if after := dfImages(); after != before {
		t.Errorf("system df Images size %s with a second image of the same layer, %s before", after, before)
	}
	if got := reclaimed(t, e.mustRun(t, "image", "prune", "-a", "-f").Stdout); got == 0 || got > 10e3 {
		t.Errorf("image prune of an image sharing its layer reclaimed %.0f bytes", got)
	}
}
