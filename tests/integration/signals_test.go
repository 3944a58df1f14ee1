package integration

import (
	"bufio"
	"context"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunForwardsSignals: a signal sent to a foreground `cocin run` reaches
// the container's process (Docker's sig-proxy), whose handler decides the
// exit code.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
			defer cancel()
			script := `trap 'echo caught; exit 7' TERM INT USR1; echo ready; while :; do sleep 0.05; done`
			cmd := defaultEnv.command(ctx, "run", "--rm", "busybox", "sh", "-c", script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(out)
			if line, err := br.ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("container did not start: %q %v", line, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(br)
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 7 || !strings.Contains(string(rest), "caught") {
				t.Fatalf("after %v: exit %d, output %q; want the container's handler (exit 7)", sig, code, rest)
			}
		})
	}
}

// TestRunInteractiveCtrlC: Ctrl-C typed in `run -it` interrupts the
// container's foreground job, not cocin.
func TestRunInteractiveCtrlC(t *testing.T) {
	t.Parallel()
	s := startPTY(t, "run", "-it", "--rm", "busybox", "sh")
	s.Expect(`# $|# `, 30*time.Second)
	s.Send("sleep 30")
	time.Sleep(300 * time.Millisecond)
	if _, err := s.tty.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	s.Send(`echo "status=$?"`)
	if m := s.Expect(`status=(\d+)`, 15*time.Second); m[1] != "130" {
		t.Errorf("sleep interrupted by Ctrl-C should give 130, got %s", m[1])
	}
	s.Send("exit 0")
	if code := s.Wait(15 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
