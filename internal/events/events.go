// Package events keeps cocin's event log: one JSON object per line in
// <root>/events.log, appended with O_APPEND so that concurrent writers
// (CLIs, monitors) never interleave within a line. `cocin events` reads it
// and follows it with inotify.
package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one lifecycle event, shaped like Docker's.
type Event struct {
	Type     string            `json:"Type"`   // "container", "image"
	Action   string            `json:"Action"` // create, start, die, stop, kill, destroy, pause, unpause, rename, ...
	ID       string            `json:"ID"`
	Name     string            `json:"Name,omitempty"`
	Image    string            `json:"Image,omitempty"`
	Attrs    map[string]string `json:"Attributes,omitempty"`
	Time     int64             `json:"time"`
	TimeNano int64             `json:"timeNano"`
}

// Log is the event log of one cocin root.
type Log struct{ path string }

// Open returns the log under root.
func Open(root string) *Log { return &Log{path: filepath.Join(root, "events.log")} }

// Append writes ev with the current time. Failures are ignored by callers:
// an event log must never make a container operation fail.
func (l *Log) Append(ev Event) error {
	now := time.Now()
	ev.Time, ev.TimeNano = now.Unix(), now.UnixNano()
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// Filter selects events: Docker's --filter keys type, event (action),
// container (ID prefix or name), image.
type Filter map[string][]string

// ParseFilters parses key=value filters.
func ParseFilters(fs []string) (Filter, error) {
	f := Filter{}
	for _, s := range fs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errors.New("bad format of filter (expected name=value): " + s)
		}
		switch k {
		case "type", "event", "container", "image":
		default:
			return nil, errors.New("invalid filter " + k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// Match reports whether ev passes the filter (same key ORs, keys AND).
func (f Filter) Match(ev Event) bool {
	for k, vals := range f {
		ok := false
		for _, v := range vals {
			switch k {
			case "type":
				ok = ok || ev.Type == v
			case "event":
				ok = ok || ev.Action == v
			case "container":
				ok = ok || ev.Name == v || (v != "" && strings.HasPrefix(ev.ID, v))
			case "image":
				ok = ok || ev.Image == v || strings.TrimSuffix(ev.Image, ":latest") == strings.TrimSuffix(v, ":latest")
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// ReadOptions select what Read delivers.
type ReadOptions struct {
	Since, Until time.Time
	Filter       Filter
	// Follow waits for new events (until Until, or Stop is closed).
	Follow bool
	Stop   <-chan struct{}
}

// Read calls fn for every selected event, in order.
func (l *Log) Read(o ReadOptions, fn func(Event) error) error {
	f, err := os.OpenFile(l.path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	var ino int = -1
	if o.Follow {
		if ino, err = unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK); err != nil {
			return err
		}
		defer unix.Close(ino)
		if _, err := unix.InotifyAddWatch(ino, l.path, unix.IN_MODIFY); err != nil {
			return err
		}
	}
	br := bufio.NewReader(f)
	var pending []byte
	for {
		line, err := br.ReadBytes('\n')
		pending = append(pending, line...)
		if err == nil {
			var ev Event
			if json.Unmarshal(pending, &ev) == nil && l.selected(ev, o) {
				if err := fn(ev); err != nil {
					return err
				}
			}
			if !o.Until.IsZero() && ev.TimeNano > o.Until.UnixNano() {
				return nil
			}
			pending = pending[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if !o.Follow || (!o.Until.IsZero() && time.Now().After(o.Until)) {
			return nil
		}
		if done := waitEvent(ino, o); done {
			return nil
		}
	}
}

func (l *Log) selected(ev Event, o ReadOptions) bool {
	t := time.Unix(0, ev.TimeNano)
	if !o.Since.IsZero() && t.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && t.After(o.Until) {
		return false
	}
	return o.Filter == nil || o.Filter.Match(ev)
}

// waitEvent blocks until the log is written, Until passes or Stop closes.
func waitEvent(ino int, o ReadOptions) bool {
	timeout := -1
	if !o.Until.IsZero() {
		timeout = int(time.Until(o.Until)/time.Millisecond) + 1
	}
	if o.Stop != nil {
		select {
		case <-o.Stop:
			return true
		default:
		}
		if timeout < 0 || timeout > 200 {
			timeout = 200 // look at Stop now and then
		}
	}
	fds := []unix.PollFd{{Fd: int32(ino), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, timeout)
	if err != nil && !errors.Is(err, unix.EINTR) {
		return true
	}
	if n > 0 {
		buf := make([]byte, 4096)
		_, _ = unix.Read(ino, buf)
	}
	return false
}
