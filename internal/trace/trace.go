// Package trace records the steps a command takes, with their durations, and
// prints them as a tree (the --trace flag). It is how a reader learns what a
// container is made of, and how we find where start-up time goes. When tracing
// is off every call is a cheap no-op on a nil *Span.
package trace

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Span is one step. The zero of *Span (nil) is a valid, disabled span.
type Span struct {
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	Children []*Span       `json:"children,omitempty"`

	mu sync.Mutex
}

type ctxKey struct{}

// NewRoot returns an enabled root span.
func NewRoot(name string) *Span { return &Span{Name: name, Start: time.Now()} }

// WithSpan returns a context carrying s.
func WithSpan(ctx context.Context, s *Span) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the span in ctx, or nil.
func FromContext(ctx context.Context) *Span {
	s, _ := ctx.Value(ctxKey{}).(*Span)
	return s
}

// Step starts a child of the span in ctx and returns a context carrying it and
// the function that ends it.
// With --log-level debug each step is also logged as it ends.
func Step(ctx context.Context, name string) (context.Context, func()) {
	parent := FromContext(ctx)
	debug := slog.Default().Enabled(ctx, slog.LevelDebug)
	if parent == nil && !debug {
		return ctx, func() {}
	}
	start := time.Now()
	child := parent.Child(name)
	return WithSpan(ctx, child), func() {
		child.End()
		if debug {
			slog.Debug("step", "name", name, "duration", time.Since(start))
		}
	}
}

// Child starts a child span of s.
func (s *Span) Child(name string) *Span {
	if s == nil {
		return nil
	}
	c := &Span{Name: name, Start: time.Now()}
	s.Add(c)
	return c
}

// Add attaches an already measured span (for example one reported by the
// container's init process) as a child of s.
func (s *Span) Add(c *Span) {
	if s == nil || c == nil {
		return
	}
	s.mu.Lock()
	s.Children = append(s.Children, c)
	s.mu.Unlock()
}

// End records the span's duration.
func (s *Span) End() {
	if s == nil {
		return
	}
	s.Duration = time.Since(s.Start)
}

// Print writes the tree rooted at s to w, the durations in one column.
func (s *Span) Print(w io.Writer) {
	if s == nil {
		return
	}
	var b strings.Builder
	s.print(&b, "", "", true, max(40, s.width(0, true)+2))
	_, _ = io.WriteString(w, b.String())
}

// width is the widest line label of the tree below s, in columns, at
// depth levels of indentation (three columns each).
func (s *Span) width(depth int, root bool) int {
	w := utf8.RuneCountInString(s.Name)
	if !root {
		w += 3 * depth
	}
	for _, c := range s.Children {
		d := depth + 1
		if root {
			d = 1
		}
		w = max(w, c.width(d, false))
	}
	return w
}

func (s *Span) print(b *strings.Builder, prefix, branch string, root bool, col int) {
	label := prefix + branch + s.Name
	pad := col - utf8.RuneCountInString(label)
	fmt.Fprintf(b, "%s%s %s\n", label, strings.Repeat(" ", max(pad, 1)), fmtDur(s.Duration))
	childPrefix := prefix
	if !root {
		if branch == "└─ " {
			childPrefix += "   "
		} else {
			childPrefix += "│  "
		}
	}
	for i, c := range s.Children {
		br := "├─ "
		if i == len(s.Children)-1 {
			br = "└─ "
		}
		c.print(b, childPrefix, br, false, col)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%8.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%7.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%7.0fµs", float64(d)/float64(time.Microsecond))
	}
}
