package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --network container:NAME runs the container in NAME's network namespace
// (the spec names /proc/<NAME's init>/ns/net) and shares its hostname,
// /etc/hosts and /etc/resolv.conf, as Docker does. The addresses, veths and
// leases stay NAME's; a marker in the network store tells NAME's detach
// that the namespace outlives it, so its veths are deleted at once.

// netJoin is what a joining container keeps in its directory: whose
// namespace it entered, through which process.
type netJoin struct {
	Owner     string `json:"Owner"`
	Pid       int    `json:"Pid"`
	StartTime uint64 `json:"StartTime"`
}

func netJoinPath(dir string) string { return filepath.Join(dir, "netjoin.json") }

// joinTarget returns the container named by --network container:NAME.
func joinTarget(mode string) (string, bool) { return strings.CutPrefix(mode, "container:") }

// runHostname is the container's host name: --hostname, the joined
// container's, or the short ID.
func (e *Engine) runHostname(o *RunOptions, rec *state.Container) string {
	if o.Hostname != "" {
		return o.Hostname
	}
	if ref, ok := joinTarget(o.Net.Network); ok {
		if c, err := e.Containers.Resolve(ref); err == nil {
			if b, err := os.ReadFile(filepath.Join(c.Dir, "hostname")); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	// On the host's network the host's name, as Docker does.
	if o.Net.Network == "host" {
		if h, err := os.Hostname(); err == nil {
			return h
		}
	}
	return rec.ID[:12]
}

// prepareJoin checks the flags Docker refuses with container:NAME, points
// the spec at NAME's namespace and bind-mounts NAME's etc files.
func (e *Engine) prepareJoin(o *RunOptions, rec *state.Container, ref string, opts *specgen.Options) error {
	n := o.Net
	switch {
	case ref == "":
		return errors.New("invalid network mode container:: a container name or ID is needed")
	case len(n.Publish) > 0 || n.PublishAll:
		return errors.New("conflicting options: port publishing and the container type network mode")
	case o.Hostname != "":
		return errors.New("conflicting options: hostname and the network mode")
	case len(n.DNS)+len(n.DNSSearch) > 0:
		return errors.New("conflicting options: dns and the network mode")
	case len(n.AddHosts) > 0:
		return errors.New("conflicting options: custom host-to-IP mapping and the network mode")
	case n.IP != "" || len(n.Aliases) > 0:
		return errors.New("conflicting options: --ip and --network-alias and the network mode")
	}
	owner, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	if owner.ID == rec.ID {
		return errors.New("cannot join own network namespace")
	}
	if owner.State.Status != state.Running && owner.State.Status != state.Paused {
		return fmt.Errorf("cannot join network of a non running container: %s", owner.Name)
	}
	start, err := runtime.PidStartTime(owner.State.Pid)
	if err != nil {
		return fmt.Errorf("cannot join network of container %s: its process is gone", owner.Name)
	}
	b, _ := json.Marshal(netJoin{Owner: owner.ID, Pid: owner.State.Pid, StartTime: start})
	if err := os.WriteFile(netJoinPath(rec.Dir), b, 0o600); err != nil {
		return err
	}
	opts.Network.Path = fmt.Sprintf("/proc/%d/ns/net", owner.State.Pid)
	shareEtc(opts, owner.Dir)
	return nil
}

// shareEtc replaces the container's hosts and hostname mounts by the
// owner's files and adds its resolv.conf.
func shareEtc(opts *specgen.Options, ownerDir string) {
	for i, m := range opts.Mounts {
		switch m.Destination {
		case "/etc/hosts", "/etc/hostname":
			opts.Mounts[i].Source = filepath.Join(ownerDir, filepath.Base(m.Destination))
		}
	}
	if p := filepath.Join(ownerDir, "resolv.conf"); fileExists(p) {
		opts.Mounts = append(opts.Mounts, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// attachJoined runs once the container exists (its init already in the
// owner's namespace): the owner must still be the process the spec named,
// so the namespace entered was the owner's; then the marker is written.
func (e *Engine) attachJoined(rec *state.Container) error {
	b, err := os.ReadFile(netJoinPath(rec.Dir))
	if err != nil {
		return nil
	}
	var j netJoin
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("read %s: %w", netJoinPath(rec.Dir), err)
	}
	owner, err := e.Containers.Get(j.Owner)
	if err != nil {
		return fmt.Errorf("joined container %s: %w", j.Owner[:12], err)
	}
	start, err := runtime.PidStartTime(j.Pid)
	if err != nil || start != j.StartTime || owner.State.Pid != j.Pid || !IsRunning(owner) {
		return fmt.Errorf("cannot join network of container %s: it stopped or restarted (recreate this container to join it again)", owner.Name)
	}
	st, err := e.Networks()
	if err != nil {
		return err
	}
	return st.Join(j.Owner, rec.ID)
}
