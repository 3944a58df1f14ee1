package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Attachment is a container's wish to be on a network (run --network,
// network connect).
type Attachment struct {
	Network string   `json:"Network"`
	Aliases []string `json:"Aliases,omitempty"`
	IP      string   `json:"IPAddress,omitempty"` // --ip
}

// Request is what a container asks for, kept in its directory
// (<container dir>/network.json) so that it goes with the container.
type Request struct {
	ID       string       `json:"Id"`
	Name     string       `json:"Name"`
	Hostname string       `json:"Hostname"`
	Networks []Attachment `json:"Networks"`
	Ports    []PortMap    `json:"Ports,omitempty"`
	// HostsBase is the start of the container's /etc/hosts (localhost
	// lines, --add-host); the network entries follow it.
	HostsBase string `json:"HostsBase"`
}

// Endpoint is a container's live presence on one network.
type Endpoint struct {
	Network   string   `json:"Network"`
	NetworkID string   `json:"NetworkID"`
	Bridge    string   `json:"Bridge"`
	IP        string   `json:"IPAddress"`
	PrefixLen int      `json:"IPPrefixLen"`
	Gateway   string   `json:"Gateway"`
	MAC       string   `json:"MacAddress"`
	HostVeth  string   `json:"HostVeth"`
	IfName    string   `json:"IfName"`
	Aliases   []string `json:"Aliases,omitempty"`
}

// Live is what a running container holds (networks/live/<id>.json). It is
// written before each thing is acquired, so a crash leaves enough to undo.
type Live struct {
	ID        string     `json:"Id"`
	Name      string     `json:"Name"`
	Hostname  string     `json:"Hostname"`
	Dir       string     `json:"Dir"`
	Pid       int        `json:"Pid"`
	HostsBase string     `json:"HostsBase"`
	Endpoints []Endpoint `json:"Endpoints"`
	Ports     []PortMap  `json:"Ports,omitempty"`
}

// RequestPath is where a container's request lives in its directory.
func RequestPath(dir string) string { return filepath.Join(dir, "network.json") }

// ReadRequest reads a container's request; ok is false when it has none
// (--network none or host).
func ReadRequest(dir string) (*Request, bool, error) {
	b, err := os.ReadFile(RequestPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	r := &Request{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, false, fmt.Errorf("read network request: %w", err)
	}
	return r, true, nil
}

// WriteRequest stores a container's request.
func WriteRequest(dir string, r *Request) error { return writeJSON(RequestPath(dir), r) }

func (s *Store) livePath(id string) string { return filepath.Join(s.dir, "live", id+".json") }

func (s *Store) readLive(id string) (*Live, error) {
	b, err := os.ReadFile(s.livePath(id))
	if err != nil {
		return nil, err
	}
	l := &Live{}
	return l, json.Unmarshal(b, l)
}

func (s *Store) writeLive(l *Live) error { return writeJSON(s.livePath(l.ID), l) }

// lives returns every live record.
func (s *Store) lives() ([]*Live, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "live"))
	if err != nil {
		return nil, err
	}
	var out []*Live
	for _, e := range ents {
		id, ok := cutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if l, err := s.readLive(id); err == nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// liveOn returns the live records with an endpoint on network name.
func (s *Store) liveOn(name string) ([]*Live, error) {
	all, err := s.lives()
	if err != nil {
		return nil, err
	}
	var out []*Live
	for _, l := range all {
		if l.endpoint(name) != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

func (l *Live) endpoint(network string) *Endpoint {
	for i := range l.Endpoints {
		if l.Endpoints[i].Network == network {
			return &l.Endpoints[i]
		}
	}
	return nil
}

// Get returns the live record of a running container (nil when it has none).
func (s *Store) Live(id string) *Live {
	l, err := s.readLive(id)
	if err != nil {
		return nil
	}
	return l
}

// HasLive reports, without opening the store, whether container id of the
// installation at root holds network resources.
func HasLive(root, id string) bool {
	_, err := os.Stat(filepath.Join(root, "networks", "live", id+".json"))
	return err == nil
}

// Unjoin removes, without opening the store, the marker of a container
// that ran in another's network namespace (one failed unlink otherwise).
func Unjoin(root, id string) { _ = os.Remove(filepath.Join(root, "networks", "joined", id)) }
