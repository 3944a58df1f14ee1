package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Attach puts a created container (its init waiting in its new netns,
// pid) on the networks of its request: addresses, veths, published ports,
// rules, hosts files. On failure everything it did is undone.
func (s *Store) Attach(dir string, pid int) (_ *Live, err error) {
	req, ok, err := ReadRequest(dir)
	if err != nil || !ok {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// A record left by a crashed start of the same container goes first.
	s.detachLocked(req.ID)
	l := &Live{ID: req.ID, Name: req.Name, Hostname: req.Hostname, Dir: dir, Pid: pid, HostsBase: req.HostsBase}
	defer func() {
		if err != nil {
			s.detachLocked(req.ID)
		}
	}()
	for i, a := range req.Networks {
		if err := s.plug(l, a, i); err != nil {
			return nil, err
		}
	}
	if err := s.publish(l, req.Ports); err != nil {
		return nil, err
	}
	return l, s.syncLocked(l)
}

// plug adds the container's endpoint on one network as eth<i>. On failure
// it undoes only what it did itself: the names it was given may belong to
// a veth it did not create.
func (s *Store) plug(l *Live, a Attachment, i int) (err error) {
	n, err := s.networkFor(a.Network)
	if err != nil {
		return err
	}
	if l.endpoint(n.Name) != nil {
		return fmt.Errorf("container %s is already attached to network %s", l.Name, n.Name)
	}
	// A veth of ours from this container's previous run, kept alive by
	// something that still holds its old namespace, has the name this
	// one needs: it goes, with its lease, before the pool is read.
	s.deleteDrained(hostVeth(l.ID, i))
	p, err := s.loadPool(n)
	if err != nil {
		return err
	}
	var want netip.Addr
	if a.IP != "" {
		if want, err = netip.ParseAddr(a.IP); err != nil {
			return fmt.Errorf("invalid --ip %q: %w", a.IP, err)
		}
		if !n.userDefined() {
			return errors.New("user specified IP address is supported on user defined networks only")
		}
	}
	ip, err := s.allocateFor(n, p, want)
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	ep := Endpoint{
		Network: n.Name, NetworkID: n.ID, Bridge: n.Bridge, IP: ip.String(), PrefixLen: n.prefix().Bits(),
		Gateway: n.Gateway, HostVeth: hostVeth(l.ID, i), IfName: fmt.Sprintf("eth%d", i),
		Aliases: a.Aliases,
	}
	// Record first, then acquire: a crash from here on is undone from
	// the record (the address, the veth, the bridge).
	l.Endpoints = append(l.Endpoints, ep)
	defer func() {
		if err != nil {
			s.unrecord(l, n, ip)
		}
	}()
	if err := s.writeLive(l); err != nil {
		return err
	}
	if err := s.savePool(n, p); err != nil {
		return err
	}
	if err := ensureBridge(n); err != nil {
		return err
	}
	last := &l.Endpoints[len(l.Endpoints)-1]
	if err := plugVeth(n, last, l.Pid); err != nil {
		return err
	}
	if err := s.writeLive(l); err != nil {
		_ = deleteLink(last.HostVeth)
		return err
	}
	return nil
}

// hostVeth names the host end of a container's i-th veth after its ID, so
// that a leftover can be told to be ours (15 characters at most).
func hostVeth(id string, i int) string { return fmt.Sprintf("cocin%s%d", id[:8], i) }

// freeIndex is the lowest interface index no current endpoint uses: a
// network connected after another was disconnected takes the hole, so its
// names (eth<i>, the host veth) never meet an endpoint still in use.
func freeIndex(l *Live) int {
	used := map[string]bool{}
	for _, ep := range l.Endpoints {
		used[ep.IfName] = true
	}
	i := 0
	for used[fmt.Sprintf("eth%d", i)] {
		i++
	}
	return i
}

// unrecord drops the endpoint plug appended last and releases its address
// (plugVeth already deleted a veth it made and could not finish).
func (s *Store) unrecord(l *Live, n *Network, ip netip.Addr) {
	l.Endpoints = l.Endpoints[:len(l.Endpoints)-1]
	_ = s.writeLive(l)
	if p, err := s.loadPool(n); err == nil {
		p.release(ip)
		_ = s.savePool(n, p)
	}
}

// networkFor resolves a network by name, "bridge" being made on first use.
func (s *Store) networkFor(name string) (*Network, error) {
	if name == DefaultName {
		return s.ensureDefault()
	}
	return s.Get(name)
}

// publish checks and records the container's published ports: a port
// another container publishes, or one the host uses, is refused.
func (s *Store) publish(l *Live, ports []PortMap) error {
	if len(ports) == 0 {
		return nil
	}
	if len(l.Endpoints) == 0 {
		return errors.New("cannot publish ports without a network")
	}
	others, err := s.lives()
	if err != nil {
		return err
	}
	for _, p := range ports {
		taken := func(q PortMap) error { return portTaken(q, l, others) }
		if err := allocHostPort(&p, taken); err != nil {
			return err
		}
		l.Ports = append(l.Ports, p)
	}
	return s.writeLive(l)
}

// Detach undoes Attach (after the container stopped, or to repair a
// crash); a container without a live record is left alone.
func (s *Store) Detach(id string) error {
	if _, err := os.Stat(s.livePath(id)); err != nil {
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.detachLocked(id)
}

func (s *Store) detachLocked(id string) error {
	l, err := s.readLive(id)
	if err != nil {
		return nil
	}
	var errs []error
	// The veths go with the container's namespace, unless a joined
	// container still lives in it.
	keep := !s.shared(id)
	for _, ep := range l.Endpoints {
		errs = append(errs, s.unplug(ep, keep))
	}
	if err := os.Remove(s.livePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	l.Endpoints, l.Ports = nil, nil
	errs = append(errs, s.syncLocked(l))
	return errors.Join(errs...)
}

// unplug releases one endpoint: the host end of the veth and the address.
// With toKernel the veth is left for the kernel to delete with the
// container's namespace and the address drains (see drain.go).
func (s *Store) unplug(ep Endpoint, toKernel bool) error {
	n, nerr := s.read(ep.Network)
	if nerr != nil || n.ID != ep.NetworkID {
		// The network is gone, and its lease with it.
		if toKernel {
			return nil
		}
		return deleteLink(ep.HostVeth)
	}
	if toKernel {
		return s.drain(ep)
	}
	err := deleteLink(ep.HostVeth)
	p, perr := s.loadPool(n)
	if perr != nil {
		return errors.Join(err, perr)
	}
	p.release(netip.MustParseAddr(ep.IP))
	return errors.Join(err, s.savePool(n, p))
}

// syncLocked brings the shared state in line with the live records after
// changed changed: the table, unused bridges, and the hosts files of the
// containers that share a network with changed.
func (s *Store) syncLocked(changed *Live) error {
	all, err := s.lives()
	if err != nil {
		return err
	}
	nets, err := s.List()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	rs := ruleset{}
	for _, l := range all {
		for _, ep := range l.Endpoints {
			used[ep.Network] = true
		}
		for _, p := range l.Ports {
			if len(l.Endpoints) > 0 {
				rs.ports = append(rs.ports, dnat{PortMap: p, ctrIP: l.Endpoints[0].IP})
			}
		}
	}
	var errs []error
	for _, n := range nets {
		switch {
		case used[n.Name] || (n.Name == DefaultName && !s.teardown):
			// The default bridge stays until ReleaseIdle or Repair (no
			// bridge and table set-up per container while any exists).
			rs.nets = append(rs.nets, n)
		default:
			errs = append(errs, deleteLink(n.Bridge))
		}
	}
	errs = append(errs, s.syncTable(rs))
	errs = append(errs, s.rewriteHosts(changed, all))
	return errors.Join(errs...)
}

// rewriteHosts rewrites the /etc/hosts of changed and of every container
// sharing a user-defined network with it.
func (s *Store) rewriteHosts(changed *Live, all []*Live) error {
	nets := map[string]bool{}
	for _, ep := range changed.Endpoints {
		nets[ep.Network] = true
	}
	if changed.Endpoints == nil {
		// It left: its former peers are found by the hosts entries
		// being rebuilt for everyone on a user network.
		for _, l := range all {
			for _, ep := range l.Endpoints {
				nets[ep.Network] = true
			}
		}
	}
	var errs []error
	for _, l := range all {
		if l.ID == changed.ID || sharesAny(l, nets) {
			errs = append(errs, writeHosts(l, all))
		}
	}
	return errors.Join(errs...)
}

func sharesAny(l *Live, nets map[string]bool) bool {
	for _, ep := range l.Endpoints {
		if nets[ep.Network] {
			return true
		}
	}
	return false
}

// writeHosts writes a container's /etc/hosts in place (it is
// bind-mounted: the inode must stay): its base, its own addresses, and on
// user-defined networks its peers by name, alias and short ID.
func writeHosts(l *Live, all []*Live) error {
	var b strings.Builder
	b.WriteString(l.HostsBase)
	for _, ep := range l.Endpoints {
		// Itself as its peers see it, so its own name resolves too.
		names := []string{l.Hostname}
		if ep.Network != DefaultName {
			names = uniq(append(names, peerNames(l, &ep)...))
		}
		fmt.Fprintf(&b, "%s\t%s\n", ep.IP, strings.Join(names, " "))
	}
	for _, ep := range l.Endpoints {
		if ep.Network == DefaultName {
			continue
		}
		for _, peer := range all {
			pe := peer.endpoint(ep.Network)
			if peer.ID == l.ID || pe == nil {
				continue
			}
			fmt.Fprintf(&b, "%s\t%s\n", pe.IP, strings.Join(peerNames(peer, pe), " "))
		}
	}
	path := filepath.Join(l.Dir, "hosts")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("hosts file of %s: %w", l.Name, err)
	}
	_, err = f.WriteString(b.String())
	return errors.Join(err, f.Close())
}

// peerNames are the names l answers to on ep's user-defined network: its
// name, its aliases there and its short ID.
func peerNames(l *Live, ep *Endpoint) []string {
	names := append([]string{l.Name}, ep.Aliases...)
	return append(names, l.ID[:12])
}

// uniq drops repeated names (the hostname is the short ID by default).
func uniq(names []string) []string {
	seen := map[string]bool{}
	out := names[:0]
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Repair detaches the live records of containers that do not run (their
// owner crashed) and rebuilds every address bitmap from what is live.
func (s *Store) Repair(running func(id string) bool) []string {
	unlock, err := s.lock()
	if err != nil {
		return nil
	}
	defer unlock()
	var fixed []string
	s.pruneJoined(running)
	all, _ := s.lives()
	for _, l := range all {
		if !running(l.ID) && s.detachLocked(l.ID) == nil {
			fixed = append(fixed, "network endpoints of "+l.ID[:12])
		}
	}
	s.reapAll()
	nets, _ := s.List()
	all, _ = s.lives()
	for _, n := range nets {
		if s.rebuildPool(n, all) {
			fixed = append(fixed, "address leases of network "+n.Name)
		}
	}
	// Nothing running: the default bridge and the table go too (and
	// come back with the next container), and the table is rewritten
	// from scratch in case something outside changed it.
	s.teardown = len(all) == 0
	s.forceTable = true
	_ = s.syncLocked(&Live{})
	return fixed
}

// ReleaseIdle removes the default bridge, every other bridge and the
// nftables table when no container has an endpoint: what the installation
// shares with the host goes with its last container (the next one makes
// them again).
func (s *Store) ReleaseIdle() error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	all, err := s.lives()
	if err != nil || len(all) > 0 {
		return err
	}
	s.teardown = true
	return s.syncLocked(&Live{})
}

// rebuildPool recomputes n's bitmap from the live endpoints; it reports
// whether the stored one held leases nobody owns.
func (s *Store) rebuildPool(n *Network, all []*Live) bool {
	old, err := s.loadPool(n)
	if err != nil {
		return false
	}
	p, _ := newPool(n.prefix(), n.gateway())
	for _, l := range all {
		if ep := l.endpoint(n.Name); ep != nil {
			_, _ = p.allocate(netip.MustParseAddr(ep.IP))
		}
	}
	if string(old.bits) == string(p.bits) {
		return false
	}
	return s.savePool(n, p) == nil
}

// Connect puts a running container (init pid) on one more network.
func (s *Store) Connect(dir string, pid int, a Attachment) error {
	req, _, err := ReadRequest(dir)
	if err != nil || req == nil {
		return errors.Join(err, errors.New("container is not on a bridge network"))
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	l, err := s.readLive(req.ID)
	if err != nil {
		return fmt.Errorf("container %s has no live network state", req.Name)
	}
	if err := s.plug(l, a, freeIndex(l)); err != nil {
		// plug undid its endpoint; a bridge it made for it goes here.
		_ = s.syncLocked(l)
		return err
	}
	return s.syncLocked(l)
}

// Disconnect takes a running container off one network.
func (s *Store) Disconnect(id, name string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	l, err := s.readLive(id)
	if err != nil {
		return nil
	}
	ep := l.endpoint(name)
	if ep == nil {
		return nil
	}
	uerr := s.unplug(*ep, false)
	kept := l.Endpoints[:0]
	for _, e := range l.Endpoints {
		if e.Network != name {
			kept = append(kept, e)
		}
	}
	l.Endpoints = kept
	if len(kept) == 0 {
		l.Ports = nil
	}
	if err := s.writeLive(l); err != nil {
		return err
	}
	rerr := s.rerouteDefault(l)
	return errors.Join(uerr, rerr, s.syncLocked(l), s.rewriteHosts(&Live{ID: "-"}, mustLives(s)))
}

// rerouteDefault gives a container that lost the network of its default
// route a new one through the first remaining network that leaves the
// host, as Docker moves the default gateway.
func (s *Store) rerouteDefault(l *Live) error {
	for i := range l.Endpoints {
		if n, err := s.read(l.Endpoints[i].Network); err == nil && !n.Internal {
			return addDefaultRoute(l.Pid, &l.Endpoints[i])
		}
	}
	return nil
}

func mustLives(s *Store) []*Live { all, _ := s.lives(); return all }

// Containers returns the live records on network name (for inspect).
func (s *Store) Containers(name string) ([]*Live, error) { return s.liveOn(name) }
