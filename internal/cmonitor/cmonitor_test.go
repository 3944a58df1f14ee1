package cmonitor

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocin-dev/cocin/internal/logs"
)

// The test binary links the constructor, so it can play the monitor: a
// "launch" child starts the container stand-in (sh), then execs itself as
// the C loop, which execs back into FinishArg0 here when sh exits.
const launchArg0 = "cmonitor-test-launch"

func TestMain(m *testing.M) {
	switch os.Args[0] {
	case launchArg0:
		launch(os.Args[1], os.Args[2:])
	case FinishArg0:
		// Report what the loop handed back on stdout (the test's pipe).
		os.Stdout.WriteString(strings.Join(os.Args[1:], " ") + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// launch runs script with its output on pipes and becomes the C loop.
func launch(script string, loopArgs []string) {
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		os.Exit(2)
	}
	outW.Close()
	errW.Close()
	for _, f := range []*os.File{outR, errR} {
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_SETFD, 0); e != 0 {
			os.Exit(2)
		}
	}
	args := append([]string{Arg0, "pid=" + strconv.Itoa(cmd.Process.Pid),
		"out=" + strconv.Itoa(int(outR.Fd())), "err=" + strconv.Itoa(int(errR.Fd())), "h=hand-over"}, loopArgs...)
	_ = syscall.Exec("/proc/self/exe", args, os.Environ())
	os.Exit(2)
}

// runLoop runs script under the C loop and returns what came back.
func runLoop(t *testing.T, script string, loopArgs ...string) string {
	t.Helper()
	cmd := exec.Command("/proc/self/exe", script)
	cmd.Args = append([]string{launchArg0, script}, loopArgs...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the loop did not finish")
	}
	if err != nil {
		t.Fatalf("loop: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func readLog(t *testing.T, path string) []logs.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []logs.Record
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			rec, perr := logs.ParseRecord(line)
			if perr != nil {
				t.Fatalf("%q: %v", line, perr)
			}
			recs = append(recs, rec)
		}
		if err != nil {
			return recs
		}
	}
}

func TestLoopLogsAndExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "container.log")
	got := runLoop(t, `printf 'a\nb\n'; printf 'oops\n' >&2; sleep 0.1; printf tail; exit 3`, "log="+log)
	if got != "status=3 ln=-1 h=hand-over" {
		t.Errorf("handed back %q", got)
	}
	var stdout, stderr []string
	for _, r := range readLog(t, log) {
		if time.Since(r.Time) > time.Minute || r.Time.After(time.Now()) {
			t.Errorf("record time %s", r.Time)
		}
		s := string(r.Line)
		if r.Partial {
			s = "P:" + s
		}
		if r.Stream == "stderr" {
			stderr = append(stderr, s)
		} else {
			stdout = append(stdout, s)
		}
	}
	if strings.Join(stdout, "|") != "a\n|b\n|P:tail" || strings.Join(stderr, "|") != "oops\n" {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

func TestLoopSignalledExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "container.log")
	if got := runLoop(t, `kill -9 $$`, "log="+log); !strings.HasPrefix(got, "status=137 ") {
		t.Errorf("handed back %q, want status=137", got)
	}
}

// Rotation follows internal/logs: no file past max-size unless a single
// record is larger, max-file files kept, the newest lines in the current.
func TestLoopRotation(t *testing.T) {
	log := filepath.Join(t.TempDir(), "container.log")
	runLoop(t, `i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); done`, "log="+log, "maxsize=300", "maxfiles=3")
	files, _ := filepath.Glob(log + "*")
	if len(files) != 3 {
		t.Fatalf("files %v, want 3", files)
	}
	for _, f := range files {
		if st, _ := os.Stat(f); st.Size() > 300 {
			t.Errorf("%s: %d bytes, over max-size", f, st.Size())
		}
	}
	recs := readLog(t, log)
	if len(recs) == 0 || string(recs[len(recs)-1].Line) != "line49\n" {
		t.Errorf("current file does not end with the last line: %v", recs)
	}
	old := readLog(t, log+".1")
	if len(old) == 0 || string(old[len(old)-1].Line) == "" {
		t.Fatal("no rotated records")
	}
	n1, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(old[len(old)-1].Line)), "line"))
	n2, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(recs[0].Line)), "line"))
	if n2 != n1+1 {
		t.Errorf("lines lost at rotation: .1 ends at %d, current starts at %d", n1, n2)
	}
}
