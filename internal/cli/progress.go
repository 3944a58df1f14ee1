package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/opencontainers/go-digest"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress shows layer transfers: one bar per layer on a terminal, one
// line per layer state otherwise (logs and pipes stay readable).
type progress struct {
	mu     sync.Mutex
	out    io.Writer
	p      *mpb.Progress // nil when not a terminal
	bars   map[digest.Digest]*mpb.Bar
	states map[digest.Digest]*atomic.Value // status text each bar shows
	status map[digest.Digest]string
}

func newProgress(out io.Writer) *progress {
	pr := &progress{out: out, bars: map[digest.Digest]*mpb.Bar{}, status: map[digest.Digest]string{},
		states: map[digest.Digest]*atomic.Value{}}
	// A terminal without a size (some pseudo-terminals) gets lines: the
	// bars would not render there.
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && hasWidth(f) {
		pr.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(40))
	}
	return pr
}

// event is an image.Progress.
func (pr *progress) event(ev image.ProgressEvent) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.p == nil {
		pr.line(ev)
		return
	}
	b, st := pr.bars[ev.Digest], pr.states[ev.Digest]
	if b == nil {
		st = &atomic.Value{}
		st.Store(ev.Status)
		// Total 0: a bar made with its total completes (and is drawn
		// for the last time) as soon as the bytes are in, before the
		// layer is unpacked; this one completes on "Done" only, so its
		// last frame says "Pull complete".
		b = pr.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(short(ev.Digest)+" "),
				decor.Any(func(decor.Statistics) string { return st.Load().(string) }, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))
		pr.bars[ev.Digest], pr.states[ev.Digest] = b, st
	}
	st.Store(layerStatusText(ev.Status))
	if ev.Total > 0 {
		b.SetTotal(ev.Total, false)
	}
	b.SetCurrent(ev.Current)
	if ev.Status == "Done" || ev.Status == "Already exists" {
		b.SetTotal(-1, true)
	}
}

// line prints a layer's state when it changes.
func (pr *progress) line(ev image.ProgressEvent) {
	prev := pr.status[ev.Digest]
	if prev == ev.Status || prev == "Already exists" {
		return // a layer the store had needs no more lines
	}
	pr.status[ev.Digest] = ev.Status
	fmt.Fprintf(pr.out, "%s: %s\n", short(ev.Digest), layerStatusText(ev.Status))
}

// layerStatusText is Docker's word for a layer state.
func layerStatusText(s string) string {
	if s == "Done" {
		return "Pull complete"
	}
	return s
}

func hasWidth(f *os.File) bool {
	w, _, err := term.GetSize(int(f.Fd()))
	return err == nil && w > 0
}

// wait ends the bars before anything else is printed.
func (pr *progress) wait() {
	if pr.p == nil {
		return
	}
	pr.mu.Lock()
	for _, b := range pr.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	pr.mu.Unlock()
	pr.p.Wait()
}

func short(d digest.Digest) string {
	if d.Validate() != nil {
		return string(d)
	}
	return d.Encoded()[:12]
}
