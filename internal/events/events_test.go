package events

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const id1 = "abc1230000000000000000000000000000000000000000000000000000000000"

func TestAppendReadFilterFollow(t *testing.T) {
	l := Open(t.TempDir())
	l.Append(Event{Type: "container", Action: "create", ID: id1, Name: "web", Image: "busybox"})
	l.Append(Event{Type: "container", Action: "start", ID: id1, Name: "web", Image: "busybox"})
	l.Append(Event{Type: "container", Action: "start", ID: "def456", Name: "db", Image: "redis"})
	var got []string
	f, _ := ParseFilters([]string{"event=start", "container=web"})
	if err := l.Read(ReadOptions{Filter: f}, func(e Event) error { got = append(got, e.Action+":"+e.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "start:web" {
		t.Fatalf("got %v", got)
	}
	// Follow until Until: an event appended meanwhile is delivered.
	until := time.Now().Add(300 * time.Millisecond)
	go func() {
		time.Sleep(50 * time.Millisecond)
		l.Append(Event{Type: "container", Action: "die", ID: id1, Attrs: map[string]string{"exitCode": "3"}})
	}()
	var followed []string
	start := time.Now()
	l.Read(ReadOptions{Since: start, Until: until, Follow: true}, func(e Event) error {
		followed = append(followed, e.Action+":"+e.Attrs["exitCode"])
		return nil
	})
	if len(followed) != 1 || followed[0] != "die:3" {
		t.Fatalf("followed %v", followed)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("follow did not stop at --until")
	}
}

func TestFollowStops(t *testing.T) {
	l := Open(t.TempDir())
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Read(ReadOptions{Since: time.Now(), Follow: true, Stop: stop}, func(Event) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return when Stop closed")
	}
}

func TestMessageShape(t *testing.T) {
	ev := Event{Type: "container", Action: "die", ID: id1, Name: "web", Image: "busybox",
		Attrs: map[string]string{"exitCode": "0"}, Time: 1700000000, TimeNano: 1700000000123456789}
	b, _ := json.Marshal(ev.Message())
	want := `{"status":"die","id":"` + id1 + `","from":"busybox","Type":"container","Action":"die",` +
		`"Actor":{"ID":"` + id1 + `","Attributes":{"exitCode":"0","image":"busybox","name":"web"}},` +
		`"scope":"local","time":1700000000,"timeNano":1700000000123456789}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	// rename's attributes carry the new name, which wins.
	m := Event{Type: "container", Action: "rename", ID: id1, Name: "old", Attrs: map[string]string{"name": "new", "oldName": "old"}}.Message()
	if m.Actor.Attributes["name"] != "new" {
		t.Fatalf("rename: %v", m.Actor.Attributes)
	}
}

// Lines of the first format (existing roots) and of Docker's read alike.
func TestDecodeOldAndNewLines(t *testing.T) {
	old := `{"Type":"container","Action":"die","ID":"` + id1 + `","Name":"web","Image":"busybox","Attributes":{"exitCode":"137"},"time":1700000000,"timeNano":1700000000123456789}`
	ev := Event{Type: "container", Action: "die", ID: id1, Name: "web", Image: "busybox",
		Attrs: map[string]string{"exitCode": "137"}, Time: 1700000000, TimeNano: 1700000000123456789}
	newLine, _ := json.Marshal(ev.Message())
	for _, line := range []string{old, string(newLine)} {
		got, err := decodeLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id1 || got.Name != "web" || got.Image != "busybox" || got.Attrs["exitCode"] != "137" ||
			got.TimeNano != ev.TimeNano || got.Action != "die" {
			t.Errorf("%s\ndecoded as %+v", line, got)
		}
		if b, _ := json.Marshal(got.Message()); string(b) != string(newLine) {
			t.Errorf("%s\nprinted as %s", line, b)
		}
		if n, ok := lineTime([]byte(line)); !ok || n != ev.TimeNano {
			t.Errorf("lineTime = %d, %v", n, ok)
		}
	}
}

func TestFilters(t *testing.T) {
	web := Event{Type: "container", Action: "start", ID: id1, Name: "web", Image: "busybox:1.36"}
	exec := Event{Type: "container", Action: "exec_start: sh -c true", ID: id1, Name: "web", Image: "busybox"}
	cases := []struct {
		filters []string
		ev      Event
		want    bool
	}{
		{[]string{"container=web"}, web, true},
		{[]string{"container=we"}, web, true}, // Docker matches name prefixes too
		{[]string{"container=abc123"}, web, true},
		{[]string{"container=db", "container=web"}, web, true},
		{[]string{"container=db"}, web, false},
		{[]string{"image=busybox"}, web, true},
		{[]string{"image=busybox:1.36"}, web, true},
		{[]string{"image=busybox:latest"}, web, false},
		{[]string{"type=container", "event=start"}, web, true},
		{[]string{"type=image"}, web, false},
		{[]string{"event=die"}, web, false},
		{[]string{"event=exec_start"}, exec, true},
		{[]string{"event=exec"}, exec, false},
		{[]string{"container=web"}, Event{Type: "image", Action: "pull", ID: "web"}, false},
	}
	for _, c := range cases {
		f, err := ParseFilters(c.filters)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(c.ev); got != c.want {
			t.Errorf("%v on %s %s: %v, want %v", c.filters, c.ev.Action, c.ev.Image, got, c.want)
		}
	}
	_, err := ParseFilters([]string{"bogus=1"})
	if ke, ok := err.(*FilterKeyError); !ok || err.Error() != "invalid filter 'bogus'" || ke.Key != "bogus" {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := ParseFilters([]string{"container"}); err == nil || strings.Contains(err.Error(), "invalid filter '") {
		t.Fatalf("malformed filter: %v", err)
	}
}

// writeLog writes n events a millisecond apart from base, in the old
// format for even lines and Docker's for odd ones.
func writeLog(t testing.TB, dir string, n int, base time.Time) *Log {
	var b strings.Builder
	for i := range n {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		if i%2 == 0 {
			fmt.Fprintf(&b, `{"Type":"container","Action":"start","ID":"%064d","Name":"c%d","Image":"busybox","time":%d,"timeNano":%d}`+"\n",
				i, i, ts.Unix(), ts.UnixNano())
			continue
		}
		m, _ := json.Marshal(Event{Type: "container", Action: "die", ID: fmt.Sprintf("%064d", i), Name: fmt.Sprint("c", i),
			Image: "busybox", Attrs: map[string]string{"exitCode": "0"}, Time: ts.Unix(), TimeNano: ts.UnixNano()}.Message())
		b.Write(append(m, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "events.log"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return Open(dir)
}

// Since seeks by bisection: the result is the same as a full scan.
func TestSinceSeek(t *testing.T) {
	base := time.Unix(1700000000, 0)
	l := writeLog(t, t.TempDir(), 100000, base)
	for _, ms := range []int{0, 1, 5000, 10001, 54321, 99999, 100000, 200000} {
		since := base.Add(time.Duration(ms) * time.Millisecond)
		first, count := int64(-1), 0
		l.Read(ReadOptions{Since: since, Until: since.Add(20 * time.Millisecond)}, func(e Event) error {
			if first < 0 {
				first = e.TimeNano
			}
			count++
			return nil
		})
		wantCount := max(min(21, 100000-ms), 0)
		if count != wantCount || count > 0 && first != since.UnixNano() {
			t.Errorf("since +%dms: %d events from %d, want %d from %d", ms, count, first, wantCount, since.UnixNano())
		}
	}
}

func BenchmarkReadAll(b *testing.B) {
	l := writeLog(b, b.TempDir(), 100000, time.Unix(1700000000, 0))
	for b.Loop() {
		n := 0
		l.Read(ReadOptions{Since: time.Unix(0, 0), Until: time.Now()}, func(Event) error { n++; return nil })
		if n != 100000 {
			b.Fatal(n)
		}
	}
}

// The fast scanner and encoding/json agree; lines the scanner does not
// know fall back to encoding/json.
func TestScanLine(t *testing.T) {
	lines := []string{
		`{"status":"die","id":"x","from":"a\"b","Type":"container","Action":"die","Actor":{"ID":"x","Attributes":{"image":"a\"b","name":"\u00e9t\u00e9","exitCode":"1"}},"scope":"local","time":1,"timeNano":1000000001}`,
		` { "Type" : "container" , "Action":"start", "ID":"y", "Name":"n", "Image":"i", "Attributes":null, "time":2, "timeNano":2000000002 } ` + "\n",
		`{"Type":"container","Action":"create","Actor":{"ID":"z","Attributes":{}},"timeNano":-5}`,
	}
	for _, line := range lines {
		fast, ok := scanLine([]byte(line))
		if !ok {
			t.Errorf("scanLine refused %s", line)
			continue
		}
		var l diskLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if a, b := fmt.Sprint(fast), fmt.Sprint(l.event()); a != b {
			t.Errorf("%s\nscan: %s\njson: %s", line, a, b)
		}
	}
	for _, line := range []string{`{"Type":"container","Extra":1}`, `{"Type":"container"`, `{"Type":"container"} x`, `{"time":1.5}`} {
		if _, ok := scanLine([]byte(line)); ok {
			t.Errorf("scanLine accepted %s", line)
		}
	}
	// A key cocin does not write still decodes, through encoding/json.
	if ev, err := decodeLine([]byte(`{"Type":"container","Action":"start","Actor":{"ID":"q","Attributes":{}},"new":[1]}`)); err != nil || ev.ID != "q" {
		t.Errorf("fallback: %+v %v", ev, err)
	}
}
