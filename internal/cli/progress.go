package cli

import (
	"fmt"
	"io"
	"os"
	"sync"

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
	status map[digest.Digest]string
}

func newProgress(out io.Writer) *progress {
	pr := &progress{out: out, bars: map[digest.Digest]*mpb.Bar{}, status: map[digest.Digest]string{}}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
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
	b := pr.bars[ev.Digest]
	if b == nil {
		b = pr.p.AddBar(ev.Total,
			mpb.PrependDecorators(decor.Name(short(ev.Digest)+" "), decor.Name(ev.Status, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))
		pr.bars[ev.Digest] = b
	}
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
	if pr.status[ev.Digest] == ev.Status {
		return
	}
	pr.status[ev.Digest] = ev.Status
	msg := map[string]string{"Downloading": "Downloading", "Already exists": "Already exists", "Done": "Pull complete", "Pushing": "Pushing"}[ev.Status]
	if msg == "" {
		msg = ev.Status
	}
	fmt.Fprintf(pr.out, "%s: %s\n", short(ev.Digest), msg)
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
