package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/state"
)

// TestHeaderFromTemplate: table headers are Docker's column titles;
// a field a command has no title for is its name in capitals, and the
// text between actions is kept.
func TestHeaderFromTemplate(t *testing.T) {
	cases := []struct {
		format  string
		headers map[string]string
		want    string
	}{
		{"{{.ID}}\t{{ .Names }}", psHeaders, "CONTAINER ID\tNAMES"},
		{"{{.Image}}\t{{.Command}}\t{{.CreatedAt}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Size}}", psHeaders,
			"IMAGE\tCOMMAND\tCREATED AT\tCREATED\tSTATUS\tPORTS\tSIZE"},
		{"{{.Labels}}\t{{.Mounts}}\t{{.Networks}}\t{{.State}}\t{{json .Names}}", psHeaders, "LABELS\tMOUNTS\tNETWORKS\tSTATE\tNAMES"},
		{"{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.Digest}}\t{{.CreatedAt}}", imageHeaders,
			"REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tDIGEST\tCREATED AT"},
		{"{{.Driver}}\t{{.Name}}", volumeHeaders, "DRIVER\tVOLUME NAME"},
		{"{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", networkHeaders, "NETWORK ID\tNAME\tDRIVER\tSCOPE"},
		{"{{.ID}}\t{{.CreatedBy}}", historyHeaders, "IMAGE\tCREATED BY"},
		{"id: {{.Foo}}", nil, "id: FOO"},
	}
	for _, c := range cases {
		if got := headerFromTemplate(c.format, c.headers); got != c.want {
			t.Errorf("%q: %q, want %q", c.format, got, c.want)
		}
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
		if err := printTemplate(&b, format, rows, id, nil); err != nil || b.String() != want {
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

// matchOne compiles filters against cs and matches c.
func matchOne(t *testing.T, c *state.Container, cs []*state.Container, filters ...string) (bool, error) {
	t.Helper()
	f, err := compilePsFilter(filters, cs)
	if err != nil {
		return false, err
	}
	return f.match(c, []string{"bridge"}), nil
}

func TestPsFilters(t *testing.T) {
	now := time.Now()
	c := &state.Container{ID: "abcdef" + strings.Repeat("0", 58), Name: "myweb1", Image: "busybox", ImageID: "sha256:1234",
		Created: now, State: state.State{Status: state.Exited, ExitCode: 3},
		Mounts: []state.Mount{{Type: "volume", Name: "data", Destination: "/data"}}}
	older := &state.Container{ID: "0123" + strings.Repeat("0", 60), Name: "old", Created: now.Add(-time.Hour)}
	newer := &state.Container{ID: "fedc" + strings.Repeat("0", 60), Name: "new", Created: now.Add(time.Hour)}
	cs := []*state.Container{c, older, newer}
	cases := map[string]bool{
		"status=exited": true, "status=running": false,
		// name= is an unanchored regexp, as Docker's.
		"name=web": true, "name=db": false, "name=^web$": false, "name=^myweb1$": true, "name=web[0-9]": true, "name=^/myweb": true,
		"id=abc": true, "id=bcd": false, "ancestor=busybox:latest": true, "ancestor=1234": true,
		"exited=3": true, "exited=0": false,
		"before=new": true, "before=old": false, "since=old": true, "since=fedc": false,
		"volume=data": true, "volume=/data": true, "volume=other": false,
		"network=bridge": true, "network=none": false,
	}
	for f, want := range cases {
		got, err := matchOne(t, c, cs, f)
		if err != nil || got != want {
			t.Errorf("%s: %v %v", f, got, err)
		}
	}
	if ok, _ := matchOne(t, c, cs, "status=running", "status=exited"); !ok {
		t.Error("same key must OR")
	}
	if ok, _ := matchOne(t, c, cs, "status=exited", "name=db"); ok {
		t.Error("different keys must AND")
	}
}

func TestPsFilterErrors(t *testing.T) {
	cases := map[string]string{
		"color=red":   "invalid filter 'color'",
		"status=foo":  "invalid filter 'status=foo'",
		"name=[":      "invalid filter 'name=['",
		"exited=x":    "invalid filter 'exited=x'",
		"before=nope": "no such container: nope",
		"label=a=b":   "not supported",
		"novalue":     "bad format of filter",
	}
	for f, want := range cases {
		if _, err := compilePsFilter([]string{f}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", f, err, want)
		}
	}
	for _, s := range validStatuses {
		if _, err := compilePsFilter([]string{"status=" + s}, nil); err != nil {
			t.Errorf("status=%s refused: %v", s, err)
		}
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

func TestReclaimableText(t *testing.T) {
	cases := map[string]engine.DiskUsage{
		"0B":             {},
		"1.5MB (75%)":    {Size: 2000000, Reclaimable: 1500000},
		"0B (0%)":        {Size: 10},
		"1.234kB (100%)": {Size: 1234, Reclaimable: 1234},
	}
	for want, r := range cases {
		if got := reclaimableText(r); got != want {
			t.Errorf("%+v: %q, want %q", r, got, want)
		}
	}
}

// TestPrintPrune: Docker's layout, decimal units in the total.
func TestPrintPrune(t *testing.T) {
	var b strings.Builder
	printPrune(&b, &engine.PruneReport{Containers: []string{"c1"}, Images: []string{"sha256:i"}, Reclaimed: 1234567})
	want := "Deleted Containers:\nc1\n\nDeleted Images:\ndeleted: sha256:i\n\nTotal reclaimed space: 1.235MB\n"
	if b.String() != want {
		t.Errorf("%q, want %q", b.String(), want)
	}
}
