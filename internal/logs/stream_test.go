package logs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Buffered output keeps the order of stdout and stderr lines when both go
// to the same writer (a terminal), with and without --tail.
func TestReadKeepsStreamOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, err := NewWriter(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 0; i < 2000; i++ {
		stream := "stdout"
		if i%3 == 0 {
			stream = "stderr"
		}
		line := fmt.Sprintf("%s %d\n", stream, i)
		want.WriteString(line)
		if err := w.Copy(stream, strings.NewReader(line)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for _, tail := range []int{-1, 2000} {
		var both bytes.Buffer
		if err := Read(p, ReadOptions{Tail: tail}, &both, &both); err != nil {
			t.Fatal(err)
		}
		if both.String() != want.String() {
			t.Fatalf("tail %d: order changed (%d bytes, want %d)", tail, both.Len(), want.Len())
		}
	}
}

// Follow goes on from where the first read ended, so a line appended in
// between is printed once, and a final drain catches lines written just
// before Done turns true.
func TestFollowFromOffset(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, err := NewWriter(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy("stdout", strings.NewReader("first\n")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := false
	o := ReadOptions{Tail: -1, Follow: true, Done: func() bool {
		if !done {
			// Written after the drain, right before the end is seen.
			done = true
			_ = w.Copy("stdout", strings.NewReader("last\n"))
		}
		return true
	}}
	if err := Read(p, o, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if out.String() != "first\nlast\n" {
		t.Fatalf("follow: %q", out.String())
	}
}
