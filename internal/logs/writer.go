// Package logs keeps a container's output in a structured file, one record
// per line in the CRI (Kubernetes) format:
//
//	2026-11-28T02:41:09.123456789Z stdout F hello
//
// timestamp, stream, F for a full line or P for a partial one (a line longer
// than the copy buffer, or output without a final newline), and the bytes as
// written. The format needs no escaping, so writing costs little more than
// the copy, and it is what Podman and CRI tools read.
//
// Files rotate by size: container.log, container.log.1 (older), ...
package logs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Options control rotation. MaxSize 0 means unlimited; MaxFiles counts the
// current file too (Docker's max-file).
type Options struct {
	MaxSize  int64
	MaxFiles int
}

// Writer appends records to a log file, rotating it by size. It is safe
// for concurrent use by the stdout and stderr copiers.
type Writer struct {
	path string
	opt  Options
	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

// NewWriter opens (appending) the log at path.
func NewWriter(path string, opt Options) (*Writer, error) {
	if opt.MaxFiles < 1 {
		opt.MaxFiles = 1
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{path: path, opt: opt, f: f, size: st.Size()}, nil
}

// Close closes the current file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// Copy reads r until EOF and logs what it reads as stream ("stdout" or
// "stderr"). Lines read in one chunk share a timestamp: the time the chunk
// arrived, which is when they became visible anyway.
func (w *Writer) Copy(stream string, r io.Reader) error {
	chunk := make([]byte, 64*1024)
	var partial []byte
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			data := chunk[:n]
			if len(partial) > 0 {
				data = append(partial, data...)
				partial = partial[:0]
			}
			rest, werr := w.writeLines(stream, time.Now(), data)
			if werr != nil {
				return werr
			}
			// Keep an unterminated tail for the next read, unless it is
			// already large: then it goes out as a partial record.
			if len(rest) > 16*1024 {
				if werr := w.writeRecord(stream, time.Now(), 'P', rest); werr != nil {
					return werr
				}
			} else {
				partial = append(partial[:0], rest...)
			}
		}
		if err != nil {
			if len(partial) > 0 {
				if werr := w.writeRecord(stream, time.Now(), 'P', partial); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// writeLines writes every complete line of data and returns the rest.
func (w *Writer) writeLines(stream string, t time.Time, data []byte) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := t.UTC().AppendFormat(nil, time.RFC3339Nano)
	w.buf = w.buf[:0]
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		// With a size limit, a chunk may not cross it: write what is
		// buffered before the record that would.
		rec := len(ts) + len(stream) + 4 + i + 1
		if w.opt.MaxSize > 0 && len(w.buf) > 0 && w.size+int64(len(w.buf)+rec) > w.opt.MaxSize {
			if err := w.flush(); err != nil {
				return data, err
			}
			w.buf = w.buf[:0]
		}
		w.buf = appendRecord(w.buf, ts, stream, 'F', data[:i+1])
		data = data[i+1:]
	}
	return data, w.flush()
}

func (w *Writer) writeRecord(stream string, t time.Time, tag byte, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = appendRecord(w.buf[:0], t.UTC().AppendFormat(nil, time.RFC3339Nano), stream, tag, append(line, '\n'))
	return w.flush()
}

func appendRecord(b, ts []byte, stream string, tag byte, line []byte) []byte {
	b = append(b, ts...)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ', tag, ' ')
	return append(b, line...)
}

// flush writes w.buf, rotating first when it would pass the size limit.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.opt.MaxSize > 0 && w.size > 0 && w.size+int64(len(w.buf)) > w.opt.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	return err
}

func (w *Writer) rotate() error {
	w.f.Close()
	if w.opt.MaxFiles <= 1 {
		if err := os.Truncate(w.path, 0); err != nil {
			return err
		}
	} else {
		_ = os.Remove(w.path + "." + strconv.Itoa(w.opt.MaxFiles-1))
		for i := w.opt.MaxFiles - 2; i >= 1; i-- {
			_ = os.Rename(w.path+"."+strconv.Itoa(i), w.path+"."+strconv.Itoa(i+1))
		}
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	w.f, w.size = f, 0
	return nil
}
