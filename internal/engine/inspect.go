package engine

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// StorageDriver is the graph driver name inspect and info report.
const StorageDriver = "overlay"

// InspectData is Docker's `inspect` shape for a container. Fields cocin
// has no meaning for carry Docker's zero values (ExecIDs null, labels ""),
// so scripts written against Docker find every key.
type InspectData struct {
	ID              string           `json:"Id"`
	Created         time.Time        `json:"Created"`
	Path            string           `json:"Path"`
	Args            []string         `json:"Args"`
	State           InspectState     `json:"State"`
	Image           string           `json:"Image"` // the image ID, sha256:...
	ResolvConfPath  string           `json:"ResolvConfPath"`
	HostnamePath    string           `json:"HostnamePath"`
	HostsPath       string           `json:"HostsPath"`
	LogPath         string           `json:"LogPath"`
	Name            string           `json:"Name"`
	RestartCount    int              `json:"RestartCount"`
	Driver          string           `json:"Driver"`
	Platform        string           `json:"Platform"`
	MountLabel      string           `json:"MountLabel"`
	ProcessLabel    string           `json:"ProcessLabel"`
	AppArmorProfile string           `json:"AppArmorProfile"`
	ExecIDs         []string         `json:"ExecIDs"`
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

// InspectConfig is Config in inspect: the container's effective
// configuration (the image's, with the run flags over it).
type InspectConfig struct {
	Hostname     string              `json:"Hostname"`
	Domainname   string              `json:"Domainname"`
	User         string              `json:"User"`
	AttachStdin  bool                `json:"AttachStdin"`
	AttachStdout bool                `json:"AttachStdout"`
	AttachStderr bool                `json:"AttachStderr"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	StdinOnce    bool                `json:"StdinOnce"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Image        string              `json:"Image"` // as the user gave it
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	OnBuild      []string            `json:"OnBuild"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"`
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
	// The image may be gone (rmi -f): its part of Config is then missing.
	var imgCfg ocispec.ImageConfig
	img, imgErr := e.Images.Get(c.ImageID)
	if imgErr == nil {
		imgCfg = img.Config.Config
	}
	d := &InspectData{
		ID: c.ID, Created: c.Created, Path: c.Path, Args: nonNilStrings(c.Args), Image: c.ImageID,
		ResolvConfPath: mountSource(&spec, "/etc/resolv.conf"), HostnamePath: mountSource(&spec, "/etc/hostname"),
		HostsPath: mountSource(&spec, "/etc/hosts"), LogPath: c.LogPath, Name: "/" + c.Name,
		RestartCount: c.RestartCount, Driver: StorageDriver, Platform: "linux",
		State:           inspectState(c),
		HostConfig:      e.hostConfig(c, &spec, &opts),
		GraphDriver:     e.graphDriver(c, img),
		Mounts:          append([]state.Mount{}, c.Mounts...),
		NetworkSettings: e.networkSettings(c, opts.Net.Network),
		Config:          inspectConfig(c, &spec, &opts, &imgCfg),
	}
	for key := range d.HostConfig.PortBindings {
		if d.Config.ExposedPorts == nil {
			d.Config.ExposedPorts = map[string]struct{}{}
		}
		d.Config.ExposedPorts[key] = struct{}{}
	}
	return d, nil
}

func inspectState(c *state.Container) InspectState {
	s := c.State.Status
	return InspectState{
		Status: string(s), Running: s == state.Running || s == state.Paused, Paused: s == state.Paused,
		Restarting: s == state.Restarting, OOMKilled: c.State.OOMKilled, Dead: s == state.Dead,
		Pid: c.State.Pid, ExitCode: c.State.ExitCode, Error: c.State.Error,
		StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt,
	}
}

// graphDriver describes the overlay: the image's layers (top first, as
// overlayfs takes them) and the container's own directories.
func (e *Engine) graphDriver(c *state.Container, img *image.Image) GraphDriver {
	data := map[string]string{
		"UpperDir": filepath.Join(c.Dir, "upper"), "WorkDir": filepath.Join(c.Dir, "work"),
		"MergedDir": filepath.Join(c.Dir, "merged"),
	}
	if img != nil {
		if lowers, err := e.Images.LayerDirs(img); err == nil {
			data["LowerDir"] = strings.Join(lowers, ":")
		}
	}
	return GraphDriver{Name: StorageDriver, Data: data}
}

// inspectConfig is the effective configuration: Docker's rules for
// entrypoint and command (an --entrypoint drops the image's CMD), the
// image's user, labels, ports and volumes.
func inspectConfig(c *state.Container, spec *specs.Spec, o *RunOptions, img *ocispec.ImageConfig) InspectConfig {
	cfg := InspectConfig{
		Hostname: spec.Hostname, User: o.User, Tty: c.Tty, OpenStdin: c.OpenStdin,
		AttachStdin: o.Interactive && !o.Detach, AttachStdout: !o.Detach, AttachStderr: !o.Detach,
		Image: c.Image, WorkingDir: o.Workdir, Entrypoint: img.Entrypoint, Cmd: img.Cmd,
		OnBuild: nil, Labels: img.Labels, StopSignal: c.StopSignal, StopTimeout: c.StopTimeout,
		ExposedPorts: copySet(img.ExposedPorts), Volumes: copySet(img.Volumes),
	}
	cfg.StdinOnce = cfg.AttachStdin
	if cfg.User == "" {
		cfg.User = img.User
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	if o.Entrypoint != nil {
		cfg.Entrypoint, cfg.Cmd = nil, nil
		if *o.Entrypoint != "" {
			cfg.Entrypoint = []string{*o.Entrypoint}
		}
	}
	if len(o.Cmd) > 0 {
		cfg.Cmd = o.Cmd
	}
	for _, v := range o.Storage.Volumes {
		if !strings.Contains(v, ":") { // -v /ctr: an anonymous volume
			cfg.Volumes = addToSet(cfg.Volumes, v)
		}
	}
	if spec.Process != nil {
		cfg.Env = spec.Process.Env
		cfg.WorkingDir = spec.Process.Cwd
	}
	return cfg
}

// mountSource returns the host path mounted at dest, "" when none is.
func mountSource(spec *specs.Spec, dest string) string {
	for _, m := range spec.Mounts {
		if m.Destination == dest {
			return m.Source
		}
	}
	return ""
}

func copySet(m map[string]struct{}) map[string]struct{} {
	if m == nil {
		return nil
	}
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

func addToSet(m map[string]struct{}, k string) map[string]struct{} {
	if m == nil {
		m = map[string]struct{}{}
	}
	m[k] = struct{}{}
	return m
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// limitsView is the limits as inspect shows them: Docker prints empty
// lists, not null, for the throttled devices.
func limitsView(l specgen.Limits) specgen.Limits {
	l.SwapDefaulted = false // cocin's own bookkeeping, not Docker's
	if l.BlkioDeviceReadBps == nil {
		l.BlkioDeviceReadBps = []specgen.ThrottleDevice{}
	}
	if l.BlkioDeviceWriteBps == nil {
		l.BlkioDeviceWriteBps = []specgen.ThrottleDevice{}
	}
	return l
}
