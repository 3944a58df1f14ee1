package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// DefaultPsArgs are the ps options `top` uses when given none (Docker's).
var DefaultPsArgs = []string{"-ef"}

// ProcessList is `top`'s table: ps's column titles and the rows of the
// container's processes.
type ProcessList struct {
	Titles    []string
	Processes [][]string
}

// Top runs the host's ps with psArgs (DefaultPsArgs when empty) and keeps
// the rows of the processes in the container's cgroup. ps sees host PIDs,
// as the cgroup lists them.
func (e *Engine) Top(ref string, psArgs []string) (*ProcessList, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if !IsRunning(c) {
		return nil, fmt.Errorf("container %s is not running", ref)
	}
	cg, err := e.cgroupOf(c)
	if err != nil {
		return nil, err
	}
	pids, err := cg.Procs()
	if err != nil {
		return nil, err
	}
	if len(psArgs) == 0 {
		psArgs = DefaultPsArgs
	}
	out, err := runPs(psArgs)
	if err != nil {
		return nil, err
	}
	keep := make(map[int]bool, len(pids))
	for _, p := range pids {
		keep[p] = true
	}
	return FilterPsOutput(out, keep)
}

// runPs runs the host's ps; its own error text says what was wrong with
// the options.
func runPs(args []string) ([]byte, error) {
	path, err := exec.LookPath("ps")
	if err != nil {
		return nil, errors.New("top: no ps command on the host (install procps)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// ps's first line says what was wrong; its usage text follows.
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("ps %s failed: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// FilterPsOutput keeps the rows of ps output whose PID column (found by
// its title, so any option set works) is in pids. The last column (the
// command) may hold spaces: a row's fields beyond the titles are joined
// into it.
func FilterPsOutput(out []byte, pids map[int]bool) (*ProcessList, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	titles := strings.Fields(lines[0])
	pidCol := -1
	for i, t := range titles {
		if t == "PID" {
			pidCol = i
			break
		}
	}
	if pidCol < 0 {
		return nil, errors.New("couldn't find PID field in ps output")
	}
	list := &ProcessList{Titles: titles}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= pidCol {
			continue
		}
		pid, err := strconv.Atoi(f[pidCol])
		if err != nil {
			return nil, fmt.Errorf("unexpected PID %q in ps output", f[pidCol])
		}
		if !pids[pid] {
			continue
		}
		if last := len(titles) - 1; len(f) > len(titles) {
			f = append(f[:last:last], strings.Join(f[last:], " "))
		}
		list.Processes = append(list.Processes, f)
	}
	return list, nil
}
