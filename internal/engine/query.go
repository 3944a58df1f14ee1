package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/logs"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
		if err == nil {
			cur = e.refresh(cur)
		}
		return cur == nil || !IsRunning(cur)
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

// InspectData is Docker's `inspect` shape for a container.
type InspectData struct {
	ID              string           `json:"Id"`
	Created         time.Time        `json:"Created"`
	Path            string           `json:"Path"`
	Args            []string         `json:"Args"`
	State           InspectState     `json:"State"`
	Image           string           `json:"Image"`
	LogPath         string           `json:"LogPath"`
	Name            string           `json:"Name"`
	RestartCount    int              `json:"RestartCount"`
	Driver          string           `json:"Driver"`
	HostConfig      HostConfig       `json:"HostConfig"`
	GraphDriver     GraphDriver      `json:"GraphDriver"`
	Mounts          []state.Mount    `json:"Mounts"`
	Config          InspectConfig    `json:"Config"`
	NetworkSettings *NetworkSettings `json:"NetworkSettings"`
}

// InspectState is State in inspect.
type InspectState struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	Paused     bool      `json:"Paused"`
	Restarting bool      `json:"Restarting"`
	OOMKilled  bool      `json:"OOMKilled"`
	Dead       bool      `json:"Dead"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	Error      string    `json:"Error"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
}

// HostConfig is the subset of Docker's HostConfig cocin has.
type HostConfig struct {
	AutoRemove     bool                     `json:"AutoRemove"`
	RestartPolicy  state.RestartPolicy      `json:"RestartPolicy"`
	LogConfig      LogConfig                `json:"LogConfig"`
	CgroupParent   string                   `json:"CgroupParent"`
	NetworkMode    string                   `json:"NetworkMode"`
	PortBindings   map[string][]PortBinding `json:"PortBindings"`
	Resources      any                      `json:"Resources,omitempty"`
	specgen.Limits                          // Docker's resource fields (Memory, NanoCpus, ...)
}

// LogConfig is HostConfig.LogConfig.
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// GraphDriver names the storage of the container's filesystem.
type GraphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

// InspectConfig is Config in inspect.
type InspectConfig struct {
	Hostname   string   `json:"Hostname"`
	User       string   `json:"User"`
	Tty        bool     `json:"Tty"`
	OpenStdin  bool     `json:"OpenStdin"`
	Env        []string `json:"Env"`
	Cmd        []string `json:"Cmd"`
	Image      string   `json:"Image"`
	WorkingDir string   `json:"WorkingDir"`
	Entrypoint []string `json:"Entrypoint"`
	StopSignal string   `json:"StopSignal,omitempty"`
}

// Inspect returns the Docker-shaped description of a container.
func (e *Engine) Inspect(ref string) (*InspectData, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	_ = json.Unmarshal(c.Spec, &spec)
	var opts RunOptions
	_ = json.Unmarshal(c.Options, &opts)
	d := &InspectData{
		ID: c.ID, Created: c.Created, Path: c.Path, Args: c.Args, Image: c.ImageID,
		LogPath: c.LogPath, Name: "/" + c.Name, RestartCount: c.RestartCount, Driver: "overlay",
		State: InspectState{
			Status: string(c.State.Status), Running: c.State.Status == state.Running || c.State.Status == state.Paused,
			Paused: c.State.Status == state.Paused, Restarting: c.State.Status == state.Restarting,
			OOMKilled: c.State.OOMKilled, Dead: c.State.Status == state.Dead, Pid: c.State.Pid,
			ExitCode: c.State.ExitCode, Error: c.State.Error, StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt,
		},
		HostConfig: HostConfig{
			AutoRemove: c.AutoRemove, RestartPolicy: c.RestartPolicy,
			LogConfig:    LogConfig{Type: "k8s-file", Config: c.LogOptions},
			CgroupParent: e.cfg.CgroupParent, Limits: opts.Resources,
			NetworkMode: networkMode(opts.Net.Network), PortBindings: portBindings(c),
		},
		GraphDriver: GraphDriver{Name: "overlay", Data: map[string]string{
			"UpperDir": filepath.Join(c.Dir, "upper"), "WorkDir": filepath.Join(c.Dir, "work"), "MergedDir": filepath.Join(c.Dir, "merged"),
		}},
		Mounts:          append([]state.Mount{}, c.Mounts...),
		NetworkSettings: e.networkSettings(c, opts.Net.Network),
		Config: InspectConfig{
			Hostname: spec.Hostname, User: opts.User, Tty: c.Tty, OpenStdin: c.OpenStdin,
			Cmd: opts.Cmd, Image: c.Image, WorkingDir: opts.Workdir, StopSignal: c.StopSignal,
		},
	}
	if spec.Process != nil {
		d.Config.Env = spec.Process.Env
		d.Config.WorkingDir = spec.Process.Cwd
	}
	if opts.Entrypoint != nil {
		d.Config.Entrypoint = []string{*opts.Entrypoint}
	}
	if spec.Linux != nil && spec.Linux.Resources != nil {
		d.HostConfig.Resources = spec.Linux.Resources
	}
	return d, nil
}

// writeJSON is used by commands printing JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, v) }
