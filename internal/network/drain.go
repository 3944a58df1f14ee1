package network

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/vishvananda/netlink"
)

// Deleting a veth synchronously costs tens of milliseconds (the kernel
// waits for an RCU grace period). When a container's network namespace
// dies, the kernel deletes its veth pair by itself, so a stopped container
// only hands its endpoints over to the drain list: each address stays
// leased until its old host veth is gone from the bridge, so it is never
// given to a new container while the old veth (with the same MAC, derived
// from the address) can still catch its frames.

// draining is an address whose old host veth may still be on the bridge.
type draining struct {
	NetworkID string `json:"NetworkID"`
	IP        string `json:"IPAddress"`
	HostVeth  string `json:"HostVeth"`
}

func (s *Store) drainPath() string { return filepath.Join(s.dir, "draining.json") }

func (s *Store) readDrain() []draining {
	var d []draining
	if b, err := os.ReadFile(s.drainPath()); err == nil {
		_ = json.Unmarshal(b, &d)
	}
	return d
}

func (s *Store) writeDrain(d []draining) error {
	if len(d) == 0 {
		if err := os.Remove(s.drainPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeJSON(s.drainPath(), d)
}

// drain hands an endpoint over to the kernel: its lease is kept until its
// host veth disappears.
func (s *Store) drain(ep Endpoint) error {
	return s.writeDrain(append(s.readDrain(), draining{NetworkID: ep.NetworkID, IP: ep.IP, HostVeth: ep.HostVeth}))
}

// reap releases into p the drained addresses of n whose veth is gone; with
// force (the pool is full, or the address is asked for by --ip) it
// deletes the veths still there first. It reports whether p changed.
func (s *Store) reap(n *Network, p *pool, force bool) (bool, error) {
	all := s.readDrain()
	if len(all) == 0 {
		return false, nil
	}
	kept := all[:0]
	changed := false
	for _, d := range all {
		if d.NetworkID == n.ID {
			if gone(d.HostVeth) || (force && deleteLink(d.HostVeth) == nil) {
				p.release(netip.MustParseAddr(d.IP))
				changed = true
				continue
			}
		}
		kept = append(kept, d)
	}
	if !changed {
		return false, nil
	}
	return true, s.writeDrain(kept)
}

// deleteDrained deletes the host veth name if the drain list holds it:
// then it is ours (a stopped container's, whose old namespace something
// still holds), not a link that merely has a name like ours. Its lease
// goes and its entry too, so that no later reap takes the new veth of
// that name for the old one.
func (s *Store) deleteDrained(name string) {
	all := s.readDrain()
	i := slices.IndexFunc(all, func(d draining) bool { return d.HostVeth == name })
	if i < 0 || deleteLink(name) != nil {
		return
	}
	d := all[i]
	nets, _ := s.List()
	for _, n := range nets {
		if n.ID != d.NetworkID {
			continue
		}
		if p, err := s.loadPool(n); err == nil {
			p.release(netip.MustParseAddr(d.IP))
			_ = s.savePool(n, p)
		}
	}
	_ = s.writeDrain(slices.Delete(all, i, i+1))
}

func gone(name string) bool {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// allocateFor takes an address of n for want (or the first free one),
// reclaiming drained addresses whose veth is gone, and those still
// draining only when nothing else is left.
func (s *Store) allocateFor(n *Network, p *pool, want netip.Addr) (netip.Addr, error) {
	if _, err := s.reap(n, p, false); err != nil {
		return netip.Addr{}, err
	}
	ip, err := p.allocate(want)
	if err == nil {
		return ip, nil
	}
	if changed, rerr := s.reap(n, p, true); rerr != nil || !changed {
		return ip, err
	}
	return p.allocate(want)
}

// reapAll deletes every draining veth and releases its address (repair).
func (s *Store) reapAll() {
	nets, _ := s.List()
	for _, n := range nets {
		p, err := s.loadPool(n)
		if err != nil {
			continue
		}
		if changed, _ := s.reap(n, p, true); changed {
			_ = s.savePool(n, p)
		}
	}
	// Entries of networks removed since: only their veths remain.
	for _, d := range s.readDrain() {
		_ = deleteLink(d.HostVeth)
	}
	_ = s.writeDrain(nil)
}

// Joined containers (--network container:NAME) keep the owner's network
// namespace alive after the owner stopped: its veths must then be deleted
// synchronously. A marker joined/<joiner> holding the owner's ID says so.

func (s *Store) joinedDir() string { return filepath.Join(s.dir, "joined") }

// Join records that joiner runs in owner's network namespace.
func (s *Store) Join(owner, joiner string) error {
	if err := os.MkdirAll(s.joinedDir(), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.joinedDir(), joiner), []byte(owner), 0o600)
}

// Unjoin removes joiner's marker (it stopped).
func (s *Store) Unjoin(joiner string) {
	_ = os.Remove(filepath.Join(s.joinedDir(), joiner))
}

// shared reports whether a joiner may still hold owner's namespace.
func (s *Store) shared(owner string) bool {
	ents, _ := os.ReadDir(s.joinedDir())
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(s.joinedDir(), e.Name())); err == nil && string(b) == owner {
			return true
		}
	}
	return false
}

// pruneJoined drops the markers of joiners that do not run.
func (s *Store) pruneJoined(running func(id string) bool) {
	ents, _ := os.ReadDir(s.joinedDir())
	for _, e := range ents {
		if !running(e.Name()) {
			s.Unjoin(e.Name())
		}
	}
}
