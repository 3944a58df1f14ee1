package engine

import (
	"errors"
	"testing"

	"github.com/cocin-dev/cocin/internal/runtime"
	"golang.org/x/sys/unix"
)

func TestParseRestartPolicy(t *testing.T) {
	ok := map[string][2]any{
		"": {"no", 0}, "no": {"no", 0}, "always": {"always", 0}, "unless-stopped": {"unless-stopped", 0},
		"on-failure": {"on-failure", 0}, "on-failure:3": {"on-failure", 3},
	}
	for in, want := range ok {
		p, err := ParseRestartPolicy(in)
		if err != nil || p.Name != want[0] || p.MaximumRetryCount != want[1] {
			t.Errorf("%q: %+v %v", in, p, err)
		}
	}
	for _, bad := range []string{"sometimes", "always:3", "on-failure:-1", "on-failure:x", "no:1"} {
		if _, err := ParseRestartPolicy(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseLogOptions(t *testing.T) {
	m, err := parseLogOptions([]string{"max-size=10k", "max-file=3"})
	if err != nil || m["max-size"] != "10k" || m["max-file"] != "3" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range [][]string{{"max-size=ten"}, {"max-file=0", "max-size=1k"}, {"max-file=2"}, {"color=red"}, {"max-size"}} {
		if _, err := parseLogOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"": unix.SIGTERM, "KILL": unix.SIGKILL, "sigint": unix.SIGINT, "SIGHUP": unix.SIGHUP, "9": unix.SIGKILL} {
		got, err := ParseSignal(in, unix.SIGTERM)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"FOO", "0", "65", "-1"} {
		if _, err := ParseSignal(bad, unix.SIGTERM); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 125 {
		t.Fatal("default codes")
	}
	if ExitCode(&runtime.InitError{Code: 127}) != 127 || ExitCode(&StatusError{Code: 126, Err: errors.New("y")}) != 126 {
		t.Fatal("typed codes")
	}
}
