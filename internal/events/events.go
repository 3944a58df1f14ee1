// Package events keeps cocin's event log: one JSON object per line in
// <root>/events.log, in Docker's event shape, appended with O_APPEND so
// that concurrent writers (CLIs, monitors) never interleave within a line.
// `cocin events` reads it, seeking by time, and follows it with inotify.
package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Event is one lifecycle event as the engine records it. The log stores
// and `cocin events` prints its Message.
type Event struct {
	Type     string // "container", "image"
	Action   string // create, start, die, stop, kill, destroy, pause, unpause, rename, ...
	ID       string
	Name     string
	Image    string
	Attrs    map[string]string // exitCode, signal, oldName, ...
	Time     int64
	TimeNano int64
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
	b, err := json.Marshal(ev.Message())
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

// ReadOptions select what Read delivers.
type ReadOptions struct {
	// Since and Until bound the events' times; zero means unbounded.
	Since, Until time.Time
	Filter       Filter
	// Follow waits for new events until Until passes or Stop is closed.
	Follow bool
	Stop   <-chan struct{}
	// CaughtUp, if set, is called whenever Read has delivered all the log
	// holds, before it waits or returns: a buffered writer flushes there.
	CaughtUp func() error
}

// Read calls fn for every selected event, in order.
func (l *Log) Read(o ReadOptions, fn func(Event) error) error {
	f, err := os.OpenFile(l.path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	var w *waiter
	if o.Follow {
		// Watch before reading: a line written while we read is not missed.
		if w, err = newWaiter(l.path, o.Stop); err != nil {
			return err
		}
		defer w.close()
	}
	if !o.Since.IsZero() {
		if _, err := f.Seek(seekSince(f, o.Since), io.SeekStart); err != nil {
			return err
		}
	}
	return readLoop(&lineReader{br: bufio.NewReaderSize(f, 64<<10)}, w, o, fn)
}

// readLoop delivers lines until EOF, then (following) waits for more.
func readLoop(r *lineReader, w *waiter, o ReadOptions, fn func(Event) error) error {
	hasUntil, until := !o.Until.IsZero(), o.Until.UnixNano()
	for {
		line, err := r.next()
		if err == nil {
			ev, derr := decodeLine(line)
			if derr != nil {
				continue // a damaged line must not hide the rest
			}
			if hasUntil && ev.TimeNano > until {
				return caughtUp(o) // the log is in time order
			}
			if selected(ev, o) {
				if err := fn(ev); err != nil {
					return err
				}
			}
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if err := caughtUp(o); err != nil {
			return err
		}
		if w == nil || (hasUntil && time.Now().UnixNano() > until) {
			return nil
		}
		if stopped, err := w.wait(o.Until); stopped || err != nil {
			return err
		}
	}
}

func caughtUp(o ReadOptions) error {
	if o.CaughtUp == nil {
		return nil
	}
	return o.CaughtUp()
}

func selected(ev Event, o ReadOptions) bool {
	if !o.Since.IsZero() && ev.TimeNano < o.Since.UnixNano() {
		return false
	}
	return o.Filter == nil || o.Filter.Match(ev)
}

// lineReader returns whole lines; a line still being written at EOF is
// kept and completed by the next reads.
type lineReader struct {
	br      *bufio.Reader
	pending []byte
}

func (r *lineReader) next() ([]byte, error) {
	for {
		b, err := r.br.ReadSlice('\n')
		switch {
		case err == nil && len(r.pending) == 0:
			return b, nil
		case err == nil:
			r.pending = append(r.pending, b...)
			line := r.pending
			r.pending = r.pending[:0:0]
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.pending = append(r.pending, b...)
		default:
			r.pending = append(r.pending, b...)
			return nil, err
		}
	}
}
