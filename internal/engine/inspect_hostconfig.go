package engine

import (
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// HostConfig is Docker's HostConfig: the run flags about the host side,
// with the resource limits flattened into it as Docker does (no
// "Resources" object).
type HostConfig struct {
	Binds             []string                 `json:"Binds"`
	ContainerIDFile   string                   `json:"ContainerIDFile"`
	LogConfig         LogConfig                `json:"LogConfig"`
	NetworkMode       string                   `json:"NetworkMode"`
	PortBindings      map[string][]PortBinding `json:"PortBindings"`
	RestartPolicy     state.RestartPolicy      `json:"RestartPolicy"`
	AutoRemove        bool                     `json:"AutoRemove"`
	VolumeDriver      string                   `json:"VolumeDriver"`
	VolumesFrom       []string                 `json:"VolumesFrom"`
	ConsoleSize       [2]uint                  `json:"ConsoleSize"`
	CapAdd            []string                 `json:"CapAdd"`
	CapDrop           []string                 `json:"CapDrop"`
	CgroupnsMode      string                   `json:"CgroupnsMode"`
	DNS               []string                 `json:"Dns"`
	DNSOptions        []string                 `json:"DnsOptions"`
	DNSSearch         []string                 `json:"DnsSearch"`
	ExtraHosts        []string                 `json:"ExtraHosts"`
	GroupAdd          []string                 `json:"GroupAdd"`
	IpcMode           string                   `json:"IpcMode"`
	Cgroup            string                   `json:"Cgroup"`
	Links             []string                 `json:"Links"`
	OomScoreAdj       int                      `json:"OomScoreAdj"`
	PidMode           string                   `json:"PidMode"`
	Privileged        bool                     `json:"Privileged"`
	PublishAllPorts   bool                     `json:"PublishAllPorts"`
	ReadonlyRootfs    bool                     `json:"ReadonlyRootfs"`
	SecurityOpt       []string                 `json:"SecurityOpt"`
	Tmpfs             map[string]string        `json:"Tmpfs,omitempty"`
	UTSMode           string                   `json:"UTSMode"`
	UsernsMode        string                   `json:"UsernsMode"`
	ShmSize           int64                    `json:"ShmSize"`
	Sysctls           map[string]string        `json:"Sysctls,omitempty"`
	Isolation         string                   `json:"Isolation"`
	CgroupParent      string                   `json:"CgroupParent"`
	specgen.Limits                             // Memory, NanoCpus, PidsLimit, ...: Docker's names
	Devices           []DeviceMapping          `json:"Devices"`
	DeviceCgroupRules []string                 `json:"DeviceCgroupRules"`
	Ulimits           []*units.Ulimit          `json:"Ulimits"`
	MaskedPaths       []string                 `json:"MaskedPaths"`
	ReadonlyPaths     []string                 `json:"ReadonlyPaths"`
}

// DeviceMapping is one --device.
type DeviceMapping struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

// hostConfig gathers HostConfig from the run options the record keeps
// and from the spec they made (namespaces, masked paths, /dev/shm).
func (e *Engine) hostConfig(c *state.Container, spec *specs.Spec, o *RunOptions) HostConfig {
	sec, st, n := &o.Security, &o.Storage, &o.Net
	h := HostConfig{
		LogConfig:   LogConfig{Type: "k8s-file", Config: c.LogOptions},
		NetworkMode: networkMode(n.Network), PortBindings: portBindings(c),
		RestartPolicy: c.RestartPolicy, AutoRemove: c.AutoRemove,
		Binds: binds(st.Volumes), VolumesFrom: st.VolumesFrom, Tmpfs: splitMap(st.Tmpfs, ":"),
		ReadonlyRootfs: st.ReadOnly,
		CapAdd:         sec.CapAdd, CapDrop: sec.CapDrop, Privileged: sec.Privileged,
		SecurityOpt: sec.SecurityOpts, DeviceCgroupRules: sec.DeviceCgroupRules,
		Devices: devices(sec.Devices), Ulimits: ulimits(sec.Ulimits), Sysctls: splitMap(sec.Sysctls, "="),
		DNS: nonNilStrings(n.DNS), DNSOptions: []string{}, DNSSearch: nonNilStrings(n.DNSSearch),
		ExtraHosts: n.AddHosts, PublishAllPorts: n.PublishAll,
		CgroupParent: e.cfg.CgroupParent, Limits: limitsView(o.Resources),
		CgroupnsMode: "private", IpcMode: "private", ShmSize: shmSize(spec),
	}
	if h.LogConfig.Config == nil {
		h.LogConfig.Config = map[string]string{}
	}
	if sec.UsernsRemap == "host" {
		h.UsernsMode = "host"
	}
	if spec.Process != nil && spec.Process.OOMScoreAdj != nil {
		h.OomScoreAdj = *spec.Process.OOMScoreAdj
	}
	if spec.Linux != nil {
		h.MaskedPaths, h.ReadonlyPaths = spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths
		h.setNamespaceModes(spec.Linux.Namespaces)
	}
	return h
}

// setNamespaceModes says "host" for each namespace the container does
// not have of its own; Docker's defaults otherwise.
func (h *HostConfig) setNamespaceModes(nss []specs.LinuxNamespace) {
	has := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range nss {
		has[ns.Type] = true
	}
	if !has[specs.CgroupNamespace] {
		h.CgroupnsMode = "host"
	}
	if !has[specs.IPCNamespace] {
		h.IpcMode = "host"
	}
	if !has[specs.PIDNamespace] {
		h.PidMode = "host"
	}
	if !has[specs.UTSNamespace] {
		h.UTSMode = "host"
	}
}

// binds are the -v entries that name a host path or a volume; a bare
// "-v /ctr" (an anonymous volume) is in Config.Volumes instead.
func binds(volumes []string) []string {
	var out []string
	for _, v := range volumes {
		if strings.Contains(v, ":") {
			out = append(out, v)
		}
	}
	return out
}

// splitMap turns "key<sep>value" entries (--tmpfs DST:OPTS, --sysctl
// K=V) into a map; nil when there are none, as Docker shows them.
func splitMap(list []string, sep string) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range list {
		k, v, _ := strings.Cut(e, sep)
		out[k] = v
	}
	return out
}

func devices(list []string) []DeviceMapping {
	out := []DeviceMapping{}
	for _, d := range list {
		host, ctr, perms, err := specgen.ParseDevice(d)
		if err == nil {
			out = append(out, DeviceMapping{PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms})
		}
	}
	return out
}

func ulimits(list []string) []*units.Ulimit {
	out := []*units.Ulimit{}
	for _, s := range list {
		if u, err := units.ParseUlimit(s); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// shmSize is the size of the container's /dev/shm mount, in bytes.
func shmSize(spec *specs.Spec) int64 {
	for _, m := range spec.Mounts {
		if m.Destination != "/dev/shm" {
			continue
		}
		for _, opt := range m.Options {
			if v, ok := strings.CutPrefix(opt, "size="); ok {
				if n, err := units.RAMInBytes(v); err == nil {
					return n
				}
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
	}
	return 0
}
