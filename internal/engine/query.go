package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/logs"
)

// LogsOptions are `logs`' flags.
type LogsOptions struct {
	Follow     bool
	Tail       int // -1: all
	Timestamps bool
	Since      time.Time
	Until      time.Time
}

// Logs prints a container's log; with Follow it ends when the container
// stops.
func (e *Engine) Logs(ref string, o LogsOptions, st Streams) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	ro := logs.ReadOptions{Tail: o.Tail, Since: o.Since, Until: o.Until, Timestamps: o.Timestamps, Follow: o.Follow}
	ro.Done = func() bool {
		cur, err := e.Containers.Get(c.ID)
		return err != nil || !IsRunning(e.refresh(cur))
	}
	if ro.Follow && !IsRunning(c) {
		ro.Follow = false
	}
	if _, err := os.Stat(c.LogPath); os.IsNotExist(err) {
		if !ro.Follow {
			return nil
		}
	}
	return logs.Read(c.LogPath, ro, st.Stdout, st.Stderr)
}

// Process is one row of `top`.
type Process struct {
	PID, PPID int
	UID       int
	Time      string
	Cmd       string
}

// Top lists the processes in the container's cgroup.
func (e *Engine) Top(ref string) ([]Process, error) {
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
	sort.Ints(pids)
	var out []Process
	for _, pid := range pids {
		if p, err := readProcess(pid); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func readProcess(pid int) (Process, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Process{}, err
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	p := Process{PID: pid}
	if len(f) > 13 {
		p.PPID, _ = strconv.Atoi(f[1])
		ut, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		secs := (ut + st) / 100
		p.Time = fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	}
	if fi, err := os.Stat(dir); err == nil {
		if sys, ok := fi.Sys().(interface{ Uid() uint32 }); ok {
			p.UID = int(sys.Uid())
		}
	}
	if uid, err := procUID(dir); err == nil {
		p.UID = uid
	}
	cmd, _ := os.ReadFile(dir + "/cmdline")
	p.Cmd = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	if p.Cmd == "" {
		p.Cmd = "[" + s[strings.IndexByte(s, '(')+1:i] + "]"
	}
	return p, nil
}

func procUID(dir string) (int, error) {
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			f := strings.Fields(l)
			if len(f) > 1 {
				return strconv.Atoi(f[1])
			}
		}
	}
	return 0, fmt.Errorf("no Uid line")
}

// writeJSON is used by commands printing JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, v) }
