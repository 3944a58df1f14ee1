package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cocin-dev/cocin/internal/state"
)

func TestHeaderFromTemplate(t *testing.T) {
	if got := headerFromTemplate("{{.ID}}\t{{ .Names }}"); got != "ID\tNames" {
		t.Fatalf("%q", got)
	}
}

// TestPrintTemplate: the two characters \t and \n in a --format are a
// tab and a newline (as with Docker), and "json" is one object per line.
func TestPrintTemplate(t *testing.T) {
	type row struct{ A, B string }
	rows := []row{{"a", "bb"}, {"ccc", "d"}}
	id := func(r row) any { return r }
	cases := map[string]string{
		`table {{.A}}\t{{.B}}`: "A     B\na     bb\nccc   d\n",
		`{{.A}}\t{{.B}}\n--`:   "a\tbb\n--\nccc\td\n--\n",
		"json":                 `{"A":"a","B":"bb"}` + "\n" + `{"A":"ccc","B":"d"}` + "\n",
	}
	for format, want := range cases {
		var b strings.Builder
		if err := printTemplate(&b, format, rows, id); err != nil || b.String() != want {
			t.Errorf("%s: %q, %v; want %q", format, b.String(), err, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Now()
	if got, err := parseTime("10m"); err != nil || now.Sub(got) < 9*time.Minute {
		t.Fatalf("10m: %v %v", got, err)
	}
	if got, err := parseTime("2026-01-02T03:04:05Z"); err != nil || got.Year() != 2026 {
		t.Fatalf("rfc3339: %v %v", got, err)
	}
	if got, err := parseTime("1700000000"); err != nil || got.Unix() != 1700000000 {
		t.Fatalf("unix: %v %v", got, err)
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestMatchFilters(t *testing.T) {
	c := &state.Container{ID: "abcdef" + strings.Repeat("0", 58), Name: "web-1", Image: "busybox", ImageID: "sha256:1234",
		State: state.State{Status: state.Exited, ExitCode: 3}}
	cases := map[string]bool{
		"status=exited": true, "status=running": false, "name=web": true, "name=db": false,
		"id=abc": true, "id=bcd": false, "ancestor=busybox:latest": true, "ancestor=1234": true, "exited=3": true,
	}
	for f, want := range cases {
		got, err := matchFilters(c, []string{f})
		if err != nil || got != want {
			t.Errorf("%s: %v %v", f, got, err)
		}
	}
	if ok, _ := matchFilters(c, []string{"status=running", "status=exited"}); !ok {
		t.Error("same key must OR")
	}
	if ok, _ := matchFilters(c, []string{"status=exited", "name=db"}); ok {
		t.Error("different keys must AND")
	}
	if _, err := matchFilters(c, []string{"color=red"}); err == nil {
		t.Error("unknown filter accepted")
	}
}

func TestStatusText(t *testing.T) {
	c := &state.Container{State: state.State{Status: state.Exited, ExitCode: 3, FinishedAt: time.Now().Add(-2 * time.Minute)}}
	if got := statusText(c); got != "Exited (3) 2 minutes ago" {
		t.Fatalf("%q", got)
	}
	c.State = state.State{Status: state.Running, StartedAt: time.Now().Add(-3 * time.Second)}
	if got := statusText(c); got != "Up 3 seconds" {
		t.Fatalf("%q", got)
	}
}
