package logs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, err := NewWriter(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Copy("stdout", strings.NewReader("one\ntwo\nthree-no-newline")); err != nil {
		t.Fatal(err)
	}
	if err := w.Copy("stderr", strings.NewReader("err1\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out, errb bytes.Buffer
	if err := Read(p, ReadOptions{Tail: -1}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntwo\nthree-no-newline" || errb.String() != "err1\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
	out.Reset()
	if err := Read(p, ReadOptions{Tail: 2}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "two\nthree-no-newline" {
		t.Fatalf("tail 2: %q", out.String())
	}
	out.Reset()
	Read(p, ReadOptions{Tail: -1, Timestamps: true}, &out, io.Discard)
	first := strings.SplitN(out.String(), " ", 2)[0]
	if _, err := time.Parse(time.RFC3339Nano, first); err != nil {
		t.Fatalf("timestamp %q: %v", first, err)
	}
	out.Reset()
	Read(p, ReadOptions{Tail: -1, Since: time.Now().Add(time.Hour)}, &out, io.Discard)
	if out.Len() != 0 {
		t.Fatalf("since in the future printed %q", out.String())
	}
}

func TestLongLineIsSplitIntoPartialRecords(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, _ := NewWriter(p, Options{})
	long := strings.Repeat("x", 100*1024) + "\n"
	if err := w.Copy("stdout", strings.NewReader(long)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out bytes.Buffer
	Read(p, ReadOptions{Tail: 1}, &out, io.Discard)
	if out.String() != long {
		t.Fatalf("long line: got %d bytes", out.Len())
	}
}

func TestRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, _ := NewWriter(p, Options{MaxSize: 1000, MaxFiles: 3})
	var in strings.Builder
	for i := 0; i < 200; i++ {
		in.WriteString("line of some length for rotation\n")
	}
	if err := w.Copy("stdout", strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	files := Files(p)
	if len(files) != 3 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 1000 {
			t.Errorf("%s is %d bytes", f, st.Size())
		}
	}
	if _, err := os.Stat(p + ".3"); err == nil {
		t.Error("more files than max-file")
	}
}

func TestFollowEndsWhenDone(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "container.log")
	w, _ := NewWriter(p, Options{})
	done := make(chan struct{})
	var stopped bool
	var out bytes.Buffer
	go func() {
		defer close(done)
		Read(p, ReadOptions{Tail: -1, Follow: true, Done: func() bool { return stopped }}, &out, io.Discard)
	}()
	time.Sleep(50 * time.Millisecond)
	w.Copy("stdout", strings.NewReader("late\n"))
	time.Sleep(50 * time.Millisecond)
	stopped = true
	os.WriteFile(filepath.Join(dir, "container.json"), []byte("{}"), 0o600) // wakes the watcher
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end")
	}
	if out.String() != "late\n" {
		t.Fatalf("followed %q", out.String())
	}
}
