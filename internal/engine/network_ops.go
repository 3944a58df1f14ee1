package engine

import (
	"fmt"
	"slices"

	"github.com/cocin-dev/cocin/internal/network"
)

// NetworkConnect adds a network to a container's request and, when it
// runs, plugs it in now (`network connect`).
func (e *Engine) NetworkConnect(netName, ref string, aliases []string, ip string) error {
	st, err := e.Networks()
	if err != nil {
		return err
	}
	n, err := st.Get(netName)
	if err != nil {
		return err
	}
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	req, ok, err := network.ReadRequest(c.Dir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("container %s: cannot connect a container with network mode none or host", c.Name)
	}
	for _, a := range req.Networks {
		if a.Network == n.Name {
			return fmt.Errorf("container %s is already connected to network %s", c.Name, n.Name)
		}
	}
	att := network.Attachment{Network: n.Name, Aliases: aliases, IP: ip}
	if IsRunning(c) {
		if err := st.Connect(c.Dir, c.State.Pid, att); err != nil {
			return err
		}
	}
	req.Networks = append(req.Networks, att)
	return network.WriteRequest(c.Dir, req)
}

// NetworkDisconnect removes a network from a container (`network disconnect`).
func (e *Engine) NetworkDisconnect(netName, ref string) error {
	st, err := e.Networks()
	if err != nil {
		return err
	}
	n, err := st.Get(netName)
	if err != nil {
		return err
	}
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	req, ok, err := network.ReadRequest(c.Dir)
	if err != nil {
		return err
	}
	i := -1
	if ok {
		i = slices.IndexFunc(req.Networks, func(a network.Attachment) bool { return a.Network == n.Name })
	}
	if i < 0 {
		return fmt.Errorf("container %s is not connected to network %s", c.Name, n.Name)
	}
	if err := st.Disconnect(c.ID, n.Name); err != nil {
		return err
	}
	req.Networks = slices.Delete(req.Networks, i, i+1)
	return network.WriteRequest(c.Dir, req)
}

// Ports returns a running container's published ports (`port`).
func (e *Engine) Ports(ref string) ([]network.PortMap, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	st, err := e.Networks()
	if err != nil {
		return nil, err
	}
	if l := st.Live(c.ID); l != nil && IsRunning(c) {
		return l.Ports, nil
	}
	return nil, nil
}
