package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// defaultTimeout bounds every cocin command a test runs.
const defaultTimeout = 60 * time.Second

// result is what a cocin command did.
type result struct {
	Stdout, Stderr string
	Code           int // exit code; -1 when killed (timeout) or not started
	Args           []string
}

func (r result) String() string {
	return fmt.Sprintf("cocin %s\n  exit code: %d\n  stdout: %q\n  stderr: %q\n",
		strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// engineEnv is one private cocin installation: data root, runtime root and
// cgroup parent. Tests share defaultEnv; tests that count what exists use
// their own (newEnv).
type engineEnv struct {
	Root, RunRoot, CgroupParent string
	ExtraEnv                    []string // appended to the command's environment
}

// newBareEnv returns a private installation without images, whose cgroup
// parent is below the suite's name (so the leak check sees it).
func newBareEnv(t *testing.T) *engineEnv {
	t.Helper()
	dir, err := os.MkdirTemp(tmpBase, "env-")
	if err != nil {
		t.Fatal(err)
	}
	e := &engineEnv{
		Root:         filepath.Join(dir, "root"),
		RunRoot:      filepath.Join(dir, "run"),
		CgroupParent: cgroupParent + "-" + filepath.Base(dir)[len("env-"):],
	}
	registerEnv(e)
	return e
}

// newEnv returns a private installation with the busybox image imported.
func newEnv(t *testing.T) *engineEnv {
	t.Helper()
	e := newBareEnv(t)
	e.mustRun(t, "import", busyboxTar, "busybox")
	return e
}

func (e *engineEnv) environ() []string {
	env := append(os.Environ(),
		"COCIN_ROOT="+e.Root,
		"COCIN_RUNROOT="+e.RunRoot,
		"COCIN_CGROUP_PARENT="+e.CgroupParent,
	)
	return append(env, e.ExtraEnv...)
}

// command builds the exec.Cmd for "cocin --root R --runroot RR ARGS...".
// The private directories are passed both as flags and in the environment.
func (e *engineEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--root", e.Root, "--runroot", e.RunRoot}, args...)
	cmd := exec.CommandContext(ctx, cocinBin, full...)
	cmd.Env = e.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Do not hang on pipes a leaked grandchild keeps open.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// exec runs cocin with args and stdin (nil: no input), bounded by timeout.
// t may be nil (TestMain).
func (e *engineEnv) exec(t *testing.T, stdin string, timeout time.Duration, args ...string) result {
	if t != nil {
		t.Helper()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := e.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode(), Args: args}
	if cmd.ProcessState == nil {
		r.Code = -1
	}
	if ctx.Err() != nil {
		r.Code = -1
		if t != nil {
			t.Errorf("timed out after %s: %s", timeout, r)
		}
	} else if err != nil && !errors.As(err, new(*exec.ExitError)) && t != nil {
		t.Errorf("cannot run cocin: %v\n%s", err, r)
	}
	return r
}

func (e *engineEnv) run(t *testing.T, args ...string) result {
	t.Helper()
	return e.exec(t, "", defaultTimeout, args...)
}

func (e *engineEnv) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := e.run(t, args...)
	if r.Code != 0 {
		t.Fatalf("command failed: %s", r)
	}
	return r
}

// cocin runs "cocin ARGS..." in the shared installation.
func cocin(t *testing.T, args ...string) result {
	t.Helper()
	return defaultEnv.exec(t, "", defaultTimeout, args...)
}

// cocinWithStdin runs "cocin ARGS..." with stdin as its standard input.
func cocinWithStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return defaultEnv.exec(t, stdin, defaultTimeout, args...)
}

// mustRun runs "cocin ARGS..." and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	return defaultEnv.mustRun(t, args...)
}

// expectCode fails the test unless r exited with code.
func expectCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit code %d: %s", code, r)
	}
}

// expectEngineError checks a Docker-style failure of run or create (or a
// bad flag): exit 125 and a "cocin: ..." message on stderr.
func expectEngineError(t *testing.T, r result) {
	t.Helper()
	expectCodeAndMessage(t, r, 125)
}

// expectCommandError checks the failure of any other command: exit 1, as
// Docker's client, and a "cocin: ..." message on stderr.
func expectCommandError(t *testing.T, r result) {
	t.Helper()
	expectCodeAndMessage(t, r, 1)
}

func expectCodeAndMessage(t *testing.T, r result, code int) {
	t.Helper()
	expectCode(t, r, code)
	if !strings.Contains(r.Stderr, "cocin") || strings.TrimSpace(r.Stderr) == "" {
		t.Errorf("want a \"cocin: ...\" error on stderr: %s", r)
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// uniqueName returns a container name no other test uses.
func uniqueName(prefix string) string { return prefix + "-" + randomHex(4) }

// ---------------------------------------------------------------------------
// Terminal sessions (run -it)

// ptySession drives a cocin command whose stdin, stdout and stderr are the
// slave side of a pseudo-terminal, like a user typing in a terminal.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File // the master side
	mu   sync.Mutex
	buf  bytes.Buffer // everything read from the terminal
	mark int          // Expect searches from here
	done chan struct{}
	err  error
}

// startPTY starts "cocin ARGS..." on a new pseudo-terminal (80x24) in the
// shared installation. The session is killed when the test ends.
func startPTY(t *testing.T, args ...string) *ptySession {
	t.Helper()
	return defaultEnv.startPTY(t, args...)
}

// startPTY starts "cocin ARGS..." on a new pseudo-terminal in e.
func (e *engineEnv) startPTY(t *testing.T, args ...string) *ptySession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*defaultTimeout)
	cmd := e.command(ctx, args...)
	cmd.SysProcAttr = nil // pty.Start makes it a session leader with a controlling tty
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		cancel()
		t.Fatalf("start cocin %s on a pty: %v", strings.Join(args, " "), err)
	}
	s := &ptySession{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := tty.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
			if err != nil { // EIO once the slave side is closed by everyone
				break
			}
		}
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Errorf("pty session did not end")
		}
		tty.Close()
	})
	return s
}

// Send types line and a newline.
func (s *ptySession) Send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.tty, line+"\n"); err != nil {
		s.t.Fatalf("write to the pty: %v", err)
	}
}

// Output is everything the session printed so far.
func (s *ptySession) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Expect waits until the output after the previous match matches re and
// returns the match's submatches. Typed input is echoed by the terminal, so
// build markers that only the command's output can produce (echo "A""B").
func (s *ptySession) Expect(re string, timeout time.Duration) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		out := s.buf.Bytes()[s.mark:]
		loc := rx.FindSubmatchIndex(out)
		var m []string
		if loc != nil {
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 {
					m = append(m, string(out[loc[i]:loc[i+1]]))
				} else {
					m = append(m, "")
				}
			}
			s.mark += loc[1]
		}
		s.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-s.done:
			time.Sleep(50 * time.Millisecond) // let the reader drain
			if loc := rx.FindStringSubmatch(s.Output()[s.mark:]); loc != nil {
				s.mark = len(s.Output())
				return loc
			}
			s.t.Fatalf("cocin exited (%v) before printing %q; output:\n%q", s.err, re, s.Output())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q within %s; output so far:\n%q", re, timeout, s.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wait waits for cocin to exit and returns its exit code.
func (s *ptySession) Wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("cocin did not exit within %s; output:\n%q", timeout, s.Output())
	}
	if s.cmd.ProcessState == nil {
		s.t.Fatalf("cocin did not run: %v", s.err)
	}
	return s.cmd.ProcessState.ExitCode()
}
