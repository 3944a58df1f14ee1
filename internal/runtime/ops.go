package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func (r *Runtime) load(id string) (*record, error) {
	b, err := os.ReadFile(filepath.Join(r.dir(id), "state.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
		}
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	return &rec, nil
}

// Spec returns the configuration container id was created with.
func (r *Runtime) Spec(id string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(r.dir(id), "config.json"))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	return &s, json.Unmarshal(b, &s)
}

// alive reports whether the record's init still runs: the PID exists and
// has the start time recorded at create, so a reused PID is not mistaken
// for the container.
func (rec *record) alive() bool {
	st, err := pidStartTime(rec.Pid)
	if err != nil {
		return false
	}
	if rec.PidStart != 0 && st != rec.PidStart {
		return false
	}
	return !isZombie(rec.Pid)
}

// State returns the runtime-spec state of container id.
func (r *Runtime) State(id string) (*specs.State, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st := &specs.State{
		Version: specs.Version, ID: rec.ID, Bundle: rec.Bundle,
		Annotations: rec.Annotations, Status: specs.StateStopped,
	}
	if rec.alive() {
		st.Pid = rec.Pid
		st.Status = specs.StateRunning
		if _, err := os.Lstat(filepath.Join(r.dir(id), "exec.fifo")); err == nil {
			st.Status = specs.StateCreated
		} else if cg, err := cgroups.Load(cgPath(rec.CgroupPath)); err == nil {
			if frozen, _ := cg.Frozen(); frozen {
				st.Status = "paused"
			}
		}
	}
	return st, nil
}

// Created returns the time container id was created.
func (r *Runtime) Created(id string) (time.Time, error) {
	rec, err := r.load(id)
	if err != nil {
		return time.Time{}, err
	}
	return rec.Created, nil
}

// List returns the IDs of all containers.
func (r *Runtime) List() ([]string, error) {
	ents, err := os.ReadDir(r.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(r.Root, e.Name(), "state.json")); err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Kill sends sig to the container's init; with all, to every process in
// its cgroup.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	if all {
		cg, err := cgroups.Load(cgPath(rec.CgroupPath))
		if err != nil {
			return err
		}
		if sig == unix.SIGKILL {
			return cg.Kill()
		}
		procs, err := cg.Procs()
		if err != nil {
			return err
		}
		for _, p := range procs {
			_ = unix.Kill(p, sig)
		}
		return nil
	}
	if !rec.alive() {
		return fmt.Errorf("container %s is not running", id)
	}
	return signalPid(rec.Pid, sig)
}

// signalPid signals through a pidfd opened after the start-time check, so
// that a PID reused between the check and the signal is never hit.
func signalPid(pid int, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Delete removes a stopped (or, with force, any) container: it kills what
// is left, destroys the cgroup and removes the state directory.
func (r *Runtime) Delete(id string, force bool) error {
	rec, err := r.load(id)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			if _, serr := os.Stat(r.dir(id)); serr == nil {
				// A create that died before writing its state.
				return os.RemoveAll(r.dir(id))
			}
		}
		return err
	}
	st, err := r.State(id)
	if err != nil {
		return err
	}
	if st.Status != specs.StateStopped && st.Status != specs.StateCreated && !force {
		return fmt.Errorf("%w: cannot delete container %s that is not stopped: %s", ErrRunning, id, st.Status)
	}
	cg, cgErr := cgroups.Load(cgPath(rec.CgroupPath))
	if cgErr == nil {
		if frozen, _ := cg.Frozen(); frozen {
			_ = cg.Thaw()
		}
		_ = cg.Kill()
	}
	if rec.alive() {
		_ = signalPid(rec.Pid, unix.SIGKILL)
		waitGone(rec.Pid, 5*time.Second)
	}
	if cgErr == nil {
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	r.postHooks(rec, HookPoststop, specs.StateStopped)
	return os.RemoveAll(r.dir(id))
}

// waitGone waits for pid to exit (or become a zombie) through its pidfd.
func waitGone(pid int, timeout time.Duration) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(timeout/time.Millisecond))
}

// cgPath splits a recorded cgroup path: "/name" is below the root,
// "name" alone (older records) below the default parent.
func cgPath(p string) (parent, name string) {
	parent, name = filepath.Dir(p), filepath.Base(p)
	if parent == "." {
		parent = ""
	}
	return parent, name
}

// pidStartTime reads field 22 of /proc/PID/stat (clock ticks after boot).
func pidStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat for pid %d", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("bad stat for pid %d", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// PidStartTime returns the start time of pid (clock ticks after boot),
// the token that tells a live process from a later one with the same PID.
func PidStartTime(pid int) (uint64, error) { return pidStartTime(pid) }

// ProcessAlive reports whether pid runs and started at start (0: any).
func ProcessAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	return (&record{Pid: pid, PidStart: start}).alive()
}

// WaitPidExit waits up to timeout (negative: no limit) for pid to exit,
// through a pidfd; it reports whether the process is gone.
func WaitPidExit(pid int, timeout time.Duration) bool {
	return WaitPidExitOr(pid, -1, timeout) // poll(2) skips a negative fd
}

// WaitPidExitOr waits up to timeout for pid to exit or fd to become
// readable; it reports whether the process is gone.
func WaitPidExitOr(pid, fd int, timeout time.Duration) bool {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(pfd)
	ms := int(timeout / time.Millisecond)
	if timeout < 0 {
		ms = -1
	}
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}, {Fd: int32(fd), Events: unix.POLLIN}}
	_, err = poll(fds, ms)
	return err == nil && fds[0].Revents != 0
}

// SignalProcess signals pid if it still is the process that started at
// start, through a pidfd opened after that check.
func SignalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if !ProcessAlive(pid, start) {
		return fmt.Errorf("process %d is gone", pid)
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}
