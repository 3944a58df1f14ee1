package events

import (
	"bytes"
	"io"
	"os"
	"time"
)

const (
	// seekSlack is how far out of time order lines may be: a writer takes
	// the time, then opens and appends, so another may append in between.
	seekSlack = 10 * time.Second
	// seekChunk is read at each bisection step; a line longer than this
	// only makes the search stop earlier.
	seekChunk = 8 << 10
)

// seekSince returns the offset of a line start at or before the first line
// of since (less seekSlack), found by bisecting the file's bytes, so that
// `events --since 1m` on a long log reads its end only. Lines are in time
// order give or take seekSlack; lines read from there are still filtered.
func seekSince(f *os.File, since time.Time) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	target := since.Add(-seekSlack).UnixNano()
	lo, hi := int64(0), st.Size() // lo: a line start with only earlier lines before it
	for hi-lo > seekChunk {
		mid := lo + (hi-lo)/2
		start, t, ok := lineAt(f, mid)
		if !ok || t >= target || start >= hi {
			hi = mid
		} else {
			lo = start
		}
	}
	return lo
}

// lineAt returns the start and time of the first line that begins at or
// after off.
func lineAt(f *os.File, off int64) (int64, int64, bool) {
	buf := make([]byte, seekChunk)
	n, err := f.ReadAt(buf, off-1) // from off-1: a line may start exactly at off
	if err != nil && err != io.EOF {
		return 0, 0, false
	}
	buf = buf[:n]
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		return 0, 0, false
	}
	line := buf[nl+1:]
	end := bytes.IndexByte(line, '\n')
	if end < 0 {
		return 0, 0, false
	}
	t, ok := lineTime(line[:end])
	return off + int64(nl), t, ok
}
