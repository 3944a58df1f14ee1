package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cocin-dev/cocin/internal/events"
)

func testEvent() events.Event {
	return events.Event{Type: "container", Action: "die", ID: strings.Repeat("ab", 32), Name: "web",
		Image: "busybox", Attrs: map[string]string{"exitCode": "0"}, Time: 1700000000, TimeNano: 1700000000123456789}
}

func TestEventFormats(t *testing.T) {
	id := strings.Repeat("ab", 32)
	local := time.Unix(0, 1700000000123456789).Format("2006-01-02T15:04:05.000000000Z07:00")
	cases := map[string]string{
		"":                               local + " container die " + id + " (exitCode=0, image=busybox, name=web)\n",
		"{{.Actor.Attributes.name}}":     "web\n",
		"{{.Status}} {{.ID}} {{.From}}":  "die " + id + " busybox\n",
		"{{.Type}} {{.Action}}":          "container die\n",
		"{{.Actor.ID}}":                  id + "\n",
		"{{.Time}} {{.TimeNano}}":        "1700000000 1700000000123456789\n",
		"{{.Actor.Attributes.exitCode}}": "0\n",
	}
	for format, want := range cases {
		var b bytes.Buffer
		p, err := newEventPrinter(&b, format)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.print(testEvent()); err != nil {
			t.Fatal(err)
		}
		p.flush()
		if b.String() != want {
			t.Errorf("--format %q:\n got %q\nwant %q", format, b.String(), want)
		}
	}
	jsonLine := `{"status":"die","id":"` + id + `","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"` + id +
		`","Attributes":{"exitCode":"0","image":"busybox","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}` + "\n"
	for _, format := range []string{"json", "{{json .}}"} {
		var b bytes.Buffer
		p, _ := newEventPrinter(&b, format)
		p.print(testEvent())
		p.print(testEvent())
		p.flush()
		if b.String() != jsonLine+jsonLine {
			t.Errorf("--format %s:\n got %s\nwant %s", format, b.String(), jsonLine)
		}
	}
}

func TestEventUTCLine(t *testing.T) {
	m := testEvent().Message()
	saved := time.Local
	time.Local = time.UTC
	defer func() { time.Local = saved }()
	if got := string(appendEventLine(nil, m)); !strings.HasPrefix(got, "2023-11-14T22:13:20.123456789Z container die ") {
		t.Errorf("%q", got)
	}
}

func TestEventReadOptions(t *testing.T) {
	now := time.Unix(1700000000, 0)
	o, err := eventReadOptions("", "", nil, now)
	if err != nil || !o.Since.Equal(now) || !o.Until.IsZero() {
		t.Errorf("no flags: from now on, got %+v %v", o, err)
	}
	o, _ = eventReadOptions("10m", "", nil, now)
	if !o.Since.Equal(now.Add(-10*time.Minute)) || !o.Until.IsZero() {
		t.Errorf("--since 10m: %+v", o)
	}
	o, _ = eventReadOptions("0", "0s", nil, now)
	if !o.Since.Equal(time.Unix(0, 0)) || !o.Until.Equal(now) {
		t.Errorf("--since 0 --until 0s: %+v", o)
	}
	o, _ = eventReadOptions("", "1700000000.5", nil, now)
	if !o.Since.IsZero() || !o.Until.Equal(time.Unix(1700000000, 5e8)) {
		t.Errorf("--until alone replays the log: %+v", o)
	}
	for _, c := range []struct {
		since, until string
		filters      []string
		code         int
		msg          string
	}{
		{"", "", []string{"bogus=1"}, 1, "invalid filter 'bogus'"},
		{"", "", []string{"label=a=b"}, 1, "invalid filter 'label'"},
		{"", "", []string{"container"}, 125, "bad format of filter"},
		{"yesterday", "", nil, 1, `failed to parse value as time or duration: "yesterday"`},
		{"", "x", nil, 1, "failed to parse"},
		{"1m", "2m", nil, 1, "`since` time (1m) cannot be after `until` time (2m)"},
	} {
		_, err := eventReadOptions(c.since, c.until, c.filters, now)
		code := 125
		var ce *codeError
		if errors.As(err, &ce) {
			code = ce.code
		}
		if err == nil || code != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q %q %v: %v (exit %d), want %q (exit %d)", c.since, c.until, c.filters, err, code, c.msg, c.code)
		}
	}
}

// Docker's json does not escape <, > and &.
func TestEventJSONNoHTMLEscape(t *testing.T) {
	ev := testEvent()
	ev.Action = "exec_start: sh -c a && b"
	for format, want := range map[string]string{"json": `"Action":"exec_start: sh -c a && b"`, "{{json .Action}}": `"exec_start: sh -c a && b"` + "\n"} {
		var b bytes.Buffer
		p, _ := newEventPrinter(&b, format)
		p.print(ev)
		p.flush()
		if !strings.Contains(b.String(), want) {
			t.Errorf("--format %s: %s", format, b.String())
		}
	}
}
