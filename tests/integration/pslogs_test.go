package integration

import (
	"regexp"
	"strings"
	"testing"
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
