package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Record is one parsed log line.
type Record struct {
	Time    time.Time
	Stream  string
	Partial bool
	Line    []byte // without the record's trailing newline for partial records
}

// ParseRecord parses one line of a log file (including its newline).
func ParseRecord(b []byte) (Record, error) {
	var r Record
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return r, errors.New("malformed log record")
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:sp]))
	if err != nil {
		return r, fmt.Errorf("malformed log time: %w", err)
	}
	rest := b[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 || len(rest) < sp+3 {
		return r, errors.New("malformed log record")
	}
	r.Time, r.Stream = t, string(rest[:sp])
	r.Partial = rest[sp+1] == 'P'
	r.Line = rest[sp+3:]
	if r.Partial {
		r.Line = bytes.TrimSuffix(r.Line, []byte{'\n'})
	}
	return r, nil
}

// ReadOptions select what to print.
type ReadOptions struct {
	Tail       int // -1: all
	Since      time.Time
	Until      time.Time
	Timestamps bool
	// Follow keeps reading as the file grows until Done reports true.
	Follow bool
	Done   func() bool
}

// Files returns the log files of path, oldest first.
func Files(path string) []string {
	var out []string
	for i := 1; ; i++ {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		out = append([]string{p}, out...)
	}
	return append(out, path)
}

// Read writes the selected records of the log at path to stdout and
// stderr; with Follow it goes on from where the read ended.
func Read(path string, o ReadOptions, stdout, stderr io.Writer) error {
	out := newOutputs(stdout, stderr)
	offset, err := readAll(path, o, out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil || !o.Follow {
		return err
	}
	return follow(path, offset, o, out)
}

// readAll prints the records of every file, oldest first, and returns
// how far it read the current file.
func readAll(path string, o ReadOptions, out *outputs) (int64, error) {
	files := Files(path)
	if o.Tail < 0 {
		var off int64
		for _, f := range files {
			n, err := streamFile(f, o, out)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
			off = n
		}
		return off, nil
	}
	var recs []Record
	var off int64
	for _, f := range files {
		rs, n, err := readFile(f, o)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		recs, off = append(recs, rs...), n
	}
	for _, r := range tail(recs, o.Tail) {
		if err := emit(r, o, out.stream(r.Stream), out.stream(r.Stream)); err != nil {
			return 0, err
		}
	}
	return off, nil
}

func readFile(path string, o ReadOptions) ([]Record, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var out []Record
	var off int64
	br := bufio.NewReaderSize(f, 256*1024)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			off += int64(len(line))
			if r, perr := ParseRecord(line); perr == nil && keep(r, o) {
				out = append(out, r)
			}
		}
		if err == io.EOF {
			return out, off, nil
		}
		if err != nil {
			return out, off, err
		}
	}
}

func keep(r Record, o ReadOptions) bool {
	if !o.Since.IsZero() && r.Time.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && r.Time.After(o.Until) {
		return false
	}
	return true
}

// tail keeps the records of the last n lines. A line is a run of
// partial records of one stream and the full record ending it; a run
// that nothing ends (the output's last bytes had no newline) is a line
// too. Streams interleave, so a partial record belongs to the next
// record of its own stream, not to the next record.
func tail(recs []Record, n int) []Record {
	keep := make([]bool, len(recs))
	later := map[string]bool{}    // the stream has a record after i
	selected := map[string]bool{} // the line of that stream being walked is kept
	lines := 0
	for i := len(recs) - 1; i >= 0; i-- {
		s := recs[i].Stream
		if !recs[i].Partial || !later[s] { // i ends a line
			selected[s] = lines < n
			if selected[s] {
				lines++
			}
		}
		later[s] = true
		keep[i] = selected[s]
	}
	out := recs[:0:0]
	for i, r := range recs {
		if keep[i] {
			out = append(out, r)
		}
	}
	return out
}

// timestampLayout is RFC 3339 with nanoseconds always written (Docker's
// `logs -t`): every timestamp has the same width.
const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

func emit(r Record, o ReadOptions, stdout, stderr io.Writer) error {
	w := stdout
	if r.Stream == "stderr" {
		w = stderr
	}
	if o.Timestamps {
		if _, err := io.WriteString(w, r.Time.UTC().Format(timestampLayout)+" "); err != nil {
			return err
		}
	}
	_, err := w.Write(r.Line)
	return err
}

// follow prints what is appended to path, waiting on inotify (no polling)
// for writes to the file and for changes in its directory (rotation, the
// container's record being rewritten when it stops).
func follow(path string, offset int64, o ReadOptions, out *outputs) error {
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, filepath.Dir(path), unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	// Go on where the first read ended: nothing written in between is lost.
	if fileSize(path) < offset {
		offset = 0 // rotated in between
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReader(f)
	var pending []byte
	evbuf := make([]byte, 4096)
	last := false
	for {
		// Drain what is there.
		for {
			line, err := br.ReadBytes('\n')
			pending = append(pending, line...)
			if err != nil {
				break
			}
			if r, perr := ParseRecord(pending); perr == nil && keep(r, o) {
				if err := emit(r, o, out.stream(r.Stream), out.stream(r.Stream)); err != nil {
					return err
				}
			}
			pending = pending[:0]
		}
		if rotated(f, path) {
			nf, err := os.Open(path)
			if err == nil {
				f.Close()
				f, pending = nf, pending[:0]
				br.Reset(f)
				continue
			}
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if last {
			return nil
		}
		if o.Done != nil && o.Done() {
			// What was written before the end was recorded may have come
			// after the drain above: drain once more.
			last = true
			continue
		}
		if _, err := unix.Read(ino, evbuf); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// rotated reports whether path now names another file than f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}
