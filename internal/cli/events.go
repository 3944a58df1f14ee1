package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/cocin-dev/cocin/internal/events"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func (a *app) eventsCommand() *cobra.Command {
	var since, until, format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := eventReadOptions(since, until, filters, time.Now())
			if err != nil {
				return err
			}
			p, err := newEventPrinter(a.streams.Stdout, format)
			if err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			// Follow, as Docker does, until --until passes or a signal,
			// which ends the command normally (exit 0).
			stop, release := stopOnSignal()
			defer release()
			o.Follow, o.Stop, o.CaughtUp = true, stop, p.flush
			return e.Events.Read(o, p.print)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "show events created since timestamp or relative time (e.g. 10m)")
	f.StringVar(&until, "until", "", "stream events until this timestamp or relative time")
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter output (type=, event=, container=, image=)")
	f.StringVar(&format, "format", "", "format output using a Go template, or 'json'")
	return cmd
}

// eventReadOptions turns the flags into what to read. Without --since only
// events from now on are shown, as Docker's; --until alone replays the log
// up to then, as Docker replays the events it keeps. Bad values fail with
// exit 1 as Docker's (its daemon rejects them); a malformed --filter is a
// flag error (125).
func eventReadOptions(since, until string, filters []string, now time.Time) (events.ReadOptions, error) {
	o := events.ReadOptions{Since: now}
	var err error
	if o.Filter, err = events.ParseFilters(filters); err != nil {
		var ke *events.FilterKeyError
		if errors.As(err, &ke) {
			return o, &codeError{code: 1, err: err}
		}
		return o, err
	}
	if since != "" {
		if o.Since, err = events.ParseTime(since, now); err != nil {
			return o, &codeError{code: 1, err: err}
		}
	}
	if until != "" {
		if o.Until, err = events.ParseTime(until, now); err != nil {
			return o, &codeError{code: 1, err: err}
		}
		if since == "" {
			o.Since = time.Time{}
		}
		if o.Until.Before(o.Since) {
			return o, &codeError{code: 1, err: fmt.Errorf("`since` time (%s) cannot be after `until` time (%s)", since, until)}
		}
	}
	return o, nil
}

// stopOnSignal returns a channel closed on SIGINT or SIGTERM.
func stopOnSignal() (<-chan struct{}, func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	go func() {
		select {
		case <-sigs:
			close(stop)
		case <-done:
		}
	}()
	return stop, func() { signal.Stop(sigs); close(done) }
}

// eventPrinter writes events through a buffer, flushed whenever the log
// has been read to its end: replaying a long log is not a write per line,
// and a followed event still shows at once.
type eventPrinter struct {
	w    *bufio.Writer
	tmpl *template.Template
	json *json.Encoder // for "json" and "{{json .}}", without a template
	line []byte        // the default format's line, reused
}

func newEventPrinter(out io.Writer, format string) (*eventPrinter, error) {
	p := &eventPrinter{w: bufio.NewWriterSize(out, 64<<10)}
	switch format {
	case "":
	case "json", "{{json .}}":
		p.json = json.NewEncoder(p.w)
		p.json.SetEscapeHTML(false)
	default:
		var err error
		p.tmpl, err = template.New("format").Funcs(templateFuncs).Funcs(eventFuncs).Parse(formatEscapes.Replace(format))
		if err != nil {
			return nil, fmt.Errorf("invalid --format template: %w", err)
		}
	}
	return p, nil
}

// eventFuncs: Docker's json leaves <, > and & alone, and an exec event's
// action may hold a shell command.
var eventFuncs = template.FuncMap{"json": func(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n"), err
}}

func (p *eventPrinter) print(ev events.Event) error {
	m := ev.Message()
	switch {
	case p.json != nil:
		return p.json.Encode(m) // one line, newline included
	case p.tmpl == nil:
		p.line = appendEventLine(p.line[:0], m)
		_, err := p.w.Write(p.line)
		return err
	}
	if err := p.tmpl.Execute(p.w, m); err != nil {
		return err
	}
	return p.w.WriteByte('\n')
}

func (p *eventPrinter) flush() error { return p.w.Flush() }

// appendEventLine appends Docker's default line: local time with
// nanoseconds, type, action, actor ID and the attributes sorted by key.
func appendEventLine(b []byte, m events.Message) []byte {
	const layout = "2006-01-02T15:04:05.000000000Z07:00"
	switch {
	case m.TimeNano != 0:
		b = append(time.Unix(0, m.TimeNano).AppendFormat(b, layout), ' ')
	case m.Time != 0:
		b = append(time.Unix(m.Time, 0).AppendFormat(b, layout), ' ')
	}
	b = append(append(append(append(append(b, m.Type...), ' '), m.Action...), ' '), m.Actor.ID...)
	keys := make([]string, 0, len(m.Actor.Attributes))
	for k := range m.Actor.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sep := " ("
	for _, k := range keys {
		b = append(append(append(append(b, sep...), k...), '='), m.Actor.Attributes[k]...)
		sep = ", "
	}
	if len(keys) > 0 {
		b = append(b, ')')
	}
	return append(b, '\n')
}
