package engine

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/cocin-dev/cocin/internal/logs"
)

// stdioRelay gives a foreground container (or exec'd process) pipes for
// its standard streams instead of the caller's own descriptors: nothing of
// the host (a terminal, which TIOCSTI could type into, a file, a socket)
// is reachable from inside, and the output can go to the log as well.
type stdioRelay struct {
	st Streams
	// The child's ends, handed to the runtime and closed once it started.
	In, Out, Err *os.File
	outR, errR   *os.File // our ends of the output pipes
	inW          *os.File // our end of the input pipe (-i), nil without
	wg           sync.WaitGroup
}

// newStdioRelay makes the pipes; stdin only when the command reads it.
func newStdioRelay(st Streams, stdin bool) (*stdioRelay, error) {
	r := &stdioRelay{st: st}
	var err error
	if r.outR, r.Out, err = os.Pipe(); err != nil {
		return nil, err
	}
	if r.errR, r.Err, err = os.Pipe(); err != nil {
		r.close()
		return nil, err
	}
	if stdin {
		if r.In, r.inW, err = os.Pipe(); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

// start closes the child's ends (the container holds them now) and copies
// both ways until the container's ends close; log, when set, gets the
// output too.
func (r *stdioRelay) start(log *logs.Writer) {
	r.closeChild()
	r.copyOut("stdout", r.outR, r.st.Stdout, log)
	r.copyOut("stderr", r.errR, r.st.Stderr, log)
	if r.inW != nil {
		// Not waited for: the caller's stdin may never end.
		go func() {
			_, _ = io.Copy(r.inW, r.st.Stdin)
			r.inW.Close()
		}()
	}
}

func (r *stdioRelay) copyOut(stream string, src, dst *os.File, log *logs.Writer) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer src.Close()
		// When dst fails (a reader that went away), closing src makes the
		// container's next write fail with EPIPE, as if it wrote to dst.
		t := &teeUntilError{r: src, w: dst}
		if log != nil {
			_ = log.Copy(stream, t)
			return
		}
		_, _ = io.Copy(io.Discard, t)
	}()
}

// wait waits until the output is copied: the container's ends are closed
// (its pid namespace died with its init).
func (r *stdioRelay) wait() { r.wg.Wait() }

func (r *stdioRelay) closeChild() {
	for _, f := range []*os.File{r.In, r.Out, r.Err} {
		if f != nil {
			f.Close()
		}
	}
}

// close releases everything when the container never started.
func (r *stdioRelay) close() {
	r.closeChild()
	for _, f := range []*os.File{r.outR, r.errR, r.inW} {
		if f != nil {
			f.Close()
		}
	}
}

// teeUntilError passes what it reads to w, and ends the stream at the
// first write error.
type teeUntilError struct {
	r io.Reader
	w io.Writer
}

func (t *teeUntilError) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			return n, io.EOF
		}
	}
	if errors.Is(err, os.ErrClosed) {
		err = io.EOF
	}
	return n, err
}
