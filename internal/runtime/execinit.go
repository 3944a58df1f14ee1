package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecMain is the process Exec starts, running in the container's
// namespaces and cgroup (nsenter put it there before the Go runtime
// started). It takes the process's identity with the init's own code and
// execve's the command; it never returns.
func ExecMain() {
	goruntime.LockOSThread()
	status := os.NewFile(fdStatus, "status")
	err := execProcess(status) // returns only on failure
	code := 1
	var ie *InitError
	if errors.As(err, &ie) {
		code = ie.Code
	}
	if sendStatus(status, statusMsg{Type: "error", Message: err.Error(), Code: code}) != nil {
		fmt.Fprintf(os.Stderr, "cocin: %v\n", err)
	}
	os.Exit(code)
}

func execProcess(status *os.File) error {
	// The runtime moves us into the container's cgroup now, then sends
	// the configuration.
	if err := sendStatus(status, statusMsg{Type: "ready"}); err != nil {
		return err
	}
	cfg, err := readExecConfig()
	if err != nil {
		return err
	}
	// The same steps as the init after its rootfs is ready; hostname and
	// the like are left out of this spec, so only the process's own
	// settings (rlimits, oom_score_adj) apply.
	p := &initProc{
		spec:   &specs.Spec{Process: cfg.Process, Linux: &specs.Linux{}},
		status: status,
	}
	p.cfg.Seccomp = cfg.Seccomp
	if err := execConsole(cfg.Process); err != nil {
		return err
	}
	if err := ownNullStdio(); err != nil {
		return err
	}
	if err := p.setupProcessEnv(); err != nil {
		return err
	}
	if err := p.lookupCommand(); err != nil {
		return err
	}
	user, err := p.newCredentials()
	if err != nil {
		return err
	}
	p.creds = user
	if err := user.apply(); err != nil {
		return err
	}
	p.creds = user
	if err := sendStatus(status, statusMsg{Type: "exec"}); err != nil {
		return err
	}
	return p.exec()
}

func readExecConfig() (*execConfig, error) {
	f := os.NewFile(fdExecConfig, "config")
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read exec config: %w", err)
	}
	var cfg execConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("decode exec config: %w", err)
	}
	if cfg.Process == nil {
		return nil, errors.New("exec config has no process")
	}
	return &cfg, nil
}

// execConsole gives the process a session of its own (so the caller's
// terminal signals reach only the caller, which forwards them) and, with
// a terminal, a pty from the container's devpts, whose master goes back
// over the console socket.
func execConsole(proc *specs.Process) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if !proc.Terminal {
		return nil
	}
	master, slave, name, err := openPty("/dev/pts/ptmx", proc.ConsoleSize)
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)
	return attachPty(master, slave, name)
}
