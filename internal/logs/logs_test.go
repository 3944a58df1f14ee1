package logs

import (
	"bytes"
	"fmt"
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
	var errOut bytes.Buffer
	if err := Read(p, ReadOptions{Tail: 2}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	// The last two lines: stdout's unterminated one, then stderr's.
	if out.String() != "three-no-newline" || errOut.String() != "err1\n" {
		t.Fatalf("tail 2: stdout %q stderr %q", out.String(), errOut.String())
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

// logFile writes a log whose records are lines (each "STREAM TAG TEXT").
func logFile(t *testing.T, recs ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "container.log")
	var b strings.Builder
	ts := time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)
	for i, r := range recs {
		f := strings.SplitN(r, " ", 3)
		fmt.Fprintf(&b, "%s %s %s %s\n", ts.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), f[0], f[1], f[2])
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readTail returns what --tail n prints on stdout and on stderr.
func readTail(t *testing.T, p string, n int) (string, string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := Read(p, ReadOptions{Tail: n}, &o, &e); err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String()
}

// TestTail: --tail N counts lines of both streams from the end; 0 is
// nothing, even after output without a final newline.
func TestTail(t *testing.T) {
	p := logFile(t, "stdout F one", "stderr F two", "stdout P th", "stdout P re", "stderr F four", "stdout F e", "stdout P last")
	cases := map[int][2]string{
		0: {"", ""},
		1: {"last", ""},
		// stdout's th+re+e is one line, across stderr's four.
		2:  {"three\nlast", ""},
		3:  {"three\nlast", "four\n"},
		4:  {"three\nlast", "two\nfour\n"},
		99: {"one\nthree\nlast", "two\nfour\n"},
	}
	for n, want := range cases {
		if o, e := readTail(t, p, n); o != want[0] || e != want[1] {
			t.Errorf("tail %d: stdout %q stderr %q, want %q", n, o, e, want)
		}
	}
}

// TestTailReachesRotatedFiles: the lines asked for may be in older files.
func TestTailReachesRotatedFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	w, _ := NewWriter(p, Options{MaxSize: 1000, MaxFiles: 3})
	var in strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&in, "line %02d\n", i)
	}
	if err := w.Copy("stdout", strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if len(Files(p)) < 2 {
		t.Fatalf("no rotation: %v", Files(p))
	}
	var want strings.Builder
	for i := 40; i < 60; i++ {
		fmt.Fprintf(&want, "line %02d\n", i)
	}
	if got, _ := readTail(t, p, 20); got != want.String() {
		t.Errorf("tail 20 over %v: %q", Files(p), got)
	}
}

// TestTimestampsFixedWidth: -t prints UTC RFC 3339 with nine fraction
// digits, trailing zeros kept, as Docker.
func TestTimestampsFixedWidth(t *testing.T) {
	p := filepath.Join(t.TempDir(), "container.log")
	line := "2024-01-02T16:04:05.1203+01:00 stdout F a\n2024-01-02T15:04:05Z stdout F b\n"
	if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Read(p, ReadOptions{Tail: -1, Timestamps: true}, &b, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := "2024-01-02T15:04:05.120300000Z a\n2024-01-02T15:04:05.000000000Z b\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
