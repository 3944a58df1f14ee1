package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/network"
	"github.com/cocin-dev/cocin/internal/state"
)

// NetworkSettings is inspect's NetworkSettings, in Docker's shape. The
// top-level address fields describe the default network, as Docker's do.
type NetworkSettings struct {
	SandboxKey  string                       `json:"SandboxKey"`
	Ports       map[string][]PortBinding     `json:"Ports"`
	Gateway     string                       `json:"Gateway"`
	IPAddress   string                       `json:"IPAddress"`
	IPPrefixLen int                          `json:"IPPrefixLen"`
	MacAddress  string                       `json:"MacAddress"`
	Networks    map[string]*EndpointSettings `json:"Networks"`
}

// PortBinding is one host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// EndpointSettings is a container's presence on one network.
type EndpointSettings struct {
	Aliases     []string `json:"Aliases"`
	NetworkID   string   `json:"NetworkID"`
	Gateway     string   `json:"Gateway"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	MacAddress  string   `json:"MacAddress"`
}

// networkSettings describes c's networks: what it holds while it runs,
// the networks it asked for (without addresses) when it does not.
func (e *Engine) networkSettings(c *state.Container, mode string) *NetworkSettings {
	ns := &NetworkSettings{Ports: map[string][]PortBinding{}, Networks: map[string]*EndpointSettings{}}
	if IsRunning(c) && mode != "host" {
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
	}
	req, ok, _ := network.ReadRequest(c.Dir)
	if !ok {
		if mode == "none" || mode == "host" {
			ns.Networks[mode] = &EndpointSettings{}
		}
		return ns
	}
	for _, a := range req.Networks {
		ns.Networks[a.Network] = &EndpointSettings{Aliases: a.Aliases}
	}
	var live *network.Live
	if network.HasLive(e.cfg.Root, c.ID) {
		if st, err := e.Networks(); err == nil {
			live = st.Live(c.ID)
		}
	}
	if live == nil {
		return ns
	}
	for _, ep := range live.Endpoints {
		es := &EndpointSettings{Aliases: ep.Aliases, NetworkID: ep.NetworkID, Gateway: ep.Gateway,
			IPAddress: ep.IP, IPPrefixLen: ep.PrefixLen, MacAddress: ep.MAC}
		ns.Networks[ep.Network] = es
		if ep.Network == network.DefaultName {
			ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress = es.Gateway, es.IPAddress, es.IPPrefixLen, es.MacAddress
		}
	}
	for _, p := range live.Ports {
		key := strconv.Itoa(int(p.ContainerPort)) + "/" + p.Proto
		hostIP := p.HostIP
		if hostIP == "" {
			hostIP = "0.0.0.0"
		}
		ns.Ports[key] = append(ns.Ports[key], PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	return ns
}

// PsNetwork is what ps shows of a container's networks: the ports it
// publishes while it runs and the names of its networks.
func (e *Engine) PsNetwork(c *state.Container) (ports []network.PortMap, networks []string) {
	var opts RunOptions
	_ = json.Unmarshal(c.Options, &opts)
	for name := range e.networkSettings(c, opts.Net.Network).Networks {
		networks = append(networks, name)
	}
	sort.Strings(networks)
	if len(networks) == 0 && strings.HasPrefix(opts.Net.Network, "container:") {
		networks = []string{opts.Net.Network}
	}
	if IsRunning(c) && network.HasLive(e.cfg.Root, c.ID) {
		if st, err := e.Networks(); err == nil {
			if l := st.Live(c.ID); l != nil {
				ports = l.Ports
			}
		}
	}
	return ports, networks
}

// portBindings is HostConfig.PortBindings: the ports the container asked
// to publish (HostPort "" where it let cocin choose).
func portBindings(c *state.Container) map[string][]PortBinding {
	out := map[string][]PortBinding{}
	req, ok, _ := network.ReadRequest(c.Dir)
	if !ok {
		return out
	}
	for _, p := range req.Ports {
		key := strconv.Itoa(int(p.ContainerPort)) + "/" + p.Proto
		b := PortBinding{HostIP: p.HostIP}
		if p.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(p.HostPort))
		}
		out[key] = append(out[key], b)
	}
	return out
}

// networkMode is HostConfig.NetworkMode: Docker says "bridge" for the
// default network.
func networkMode(mode string) string {
	if mode == "" || mode == "default" {
		return network.DefaultName
	}
	return mode
}
