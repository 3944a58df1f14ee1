package logs

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// outputs buffers the two output streams: a 100 MB log is more than a
// million lines, and a write(2) per line made `logs` several times slower.
// Writing to one stream first flushes the other, so that lines keep their
// order when both reach the same terminal.
type outputs struct {
	out, err *bufio.Writer
	last     *bufio.Writer
}

func newOutputs(stdout, stderr io.Writer) *outputs {
	return &outputs{out: bufio.NewWriterSize(stdout, 64*1024), err: bufio.NewWriterSize(stderr, 16*1024)}
}

func (o *outputs) stream(name string) io.Writer {
	w := o.out
	if name == "stderr" {
		w = o.err
	}
	if o.last != nil && o.last != w {
		_ = o.last.Flush()
	}
	o.last = w
	return w
}

func (o *outputs) Flush() error {
	return errors.Join(o.out.Flush(), o.err.Flush())
}

// streamFile prints the selected records of one file as it reads them
// (no tail: nothing needs to be held) and returns how many bytes of whole
// records it consumed, where a follow goes on.
func streamFile(path string, o ReadOptions, out *outputs) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var off int64
	br := bufio.NewReaderSize(f, 256*1024)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A record longer than the buffer: read the rest of it.
			rest, rerr := br.ReadBytes('\n')
			line, err = append(append([]byte{}, line...), rest...), rerr
		}
		if err == nil {
			off += int64(len(line))
			if r, perr := ParseRecord(line); perr == nil && keep(r, o) {
				if werr := emit(r, o, out.stream(r.Stream), out.stream(r.Stream)); werr != nil {
					return off, werr
				}
			}
			continue
		}
		if err == io.EOF {
			return off, nil
		}
		return off, err
	}
}

// fileSize is the size of path, 0 if it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
