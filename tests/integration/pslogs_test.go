package integration

import (
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
