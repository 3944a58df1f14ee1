package events

import (
	"testing"
	"time"
)

func TestAppendReadFilterFollow(t *testing.T) {
	l := Open(t.TempDir())
	l.Append(Event{Type: "container", Action: "create", ID: "abc123", Name: "web", Image: "busybox"})
	l.Append(Event{Type: "container", Action: "start", ID: "abc123", Name: "web", Image: "busybox"})
	l.Append(Event{Type: "container", Action: "start", ID: "def456", Name: "db", Image: "redis"})
	var got []string
	f, _ := ParseFilters([]string{"event=start", "container=web"})
	if err := l.Read(ReadOptions{Filter: f}, func(e Event) error { got = append(got, e.Action+":"+e.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "start:web" {
		t.Fatalf("got %v", got)
	}
	if _, err := ParseFilters([]string{"bogus=1"}); err == nil {
		t.Fatal("unknown filter accepted")
	}
	// Follow until Until: an event appended meanwhile is delivered.
	until := time.Now().Add(300 * time.Millisecond)
	go func() {
		time.Sleep(50 * time.Millisecond)
		l.Append(Event{Type: "container", Action: "die", ID: "abc123"})
	}()
	var followed []string
	start := time.Now()
	l.Read(ReadOptions{Since: start, Until: until, Follow: true}, func(e Event) error { followed = append(followed, e.Action); return nil })
	if len(followed) != 1 || followed[0] != "die" {
		t.Fatalf("followed %v", followed)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("follow did not stop at --until")
	}
}
