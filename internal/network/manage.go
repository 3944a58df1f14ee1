package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
)

// CreateOptions are `network create`'s flags.
type CreateOptions struct {
	Name     string
	Subnet   string // empty: the first free candidate
	Gateway  string // empty: the subnet's first address
	Internal bool
}

// DefaultSubnetEnv overrides the default network's subnet.
const DefaultSubnetEnv = "COCIN_DEFAULT_SUBNET"

// Create makes a network (its bridge comes with its first container).
func (s *Store) Create(o CreateOptions) (*Network, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.Name == DefaultName || o.Name == "host" || o.Name == "none" {
		return nil, fmt.Errorf("%s is a pre-defined network and cannot be created", o.Name)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.create(o)
}

func (s *Store) create(o CreateOptions) (*Network, error) {
	if _, err := os.Stat(s.netPath(o.Name)); err == nil {
		return nil, fmt.Errorf("%w: network with name %s already exists", ErrExists, o.Name)
	}
	subnet, gw, err := s.pickAddresses(o.Subnet, o.Gateway)
	if err != nil {
		return nil, err
	}
	id := newID()
	n := &Network{
		Name: o.Name, ID: id, Driver: "bridge", Subnet: subnet.String(), Gateway: gw.String(),
		Internal: o.Internal, Bridge: s.bridgeName(o.Name, id), Created: time.Now().UTC(),
	}
	if err := writeJSON(s.netPath(n.Name), n); err != nil {
		return nil, fmt.Errorf("write network %s: %w", n.Name, err)
	}
	return n, nil
}

// pickAddresses checks or chooses the subnet and gateway.
func (s *Store) pickAddresses(subnet, gateway string) (netip.Prefix, netip.Addr, error) {
	var pfx netip.Prefix
	if subnet != "" {
		p, err := netip.ParsePrefix(subnet)
		if err != nil {
			return pfx, netip.Addr{}, fmt.Errorf("invalid subnet %q: %w", subnet, err)
		}
		if p != p.Masked() {
			return pfx, netip.Addr{}, fmt.Errorf("invalid subnet %s: host bits set (did you mean %s?)", p, p.Masked())
		}
		if _, err := poolSize(p); err != nil {
			return pfx, netip.Addr{}, err
		}
		if other := s.overlapping(p); other != "" {
			return pfx, netip.Addr{}, fmt.Errorf("invalid subnet %s: it overlaps with %s", p, other)
		}
		pfx = p
	} else {
		p, err := s.freeSubnet()
		if err != nil {
			return pfx, netip.Addr{}, err
		}
		pfx = p
	}
	gw := pfx.Addr().Next()
	if gateway != "" {
		g, err := netip.ParseAddr(gateway)
		if err != nil {
			return pfx, netip.Addr{}, fmt.Errorf("invalid gateway %q: %w", gateway, err)
		}
		p, _ := newPool(pfx, netip.Addr{})
		if i, ok := p.index(g); !ok || i == 0 || i == uint64(len(p.bits))*8-1 {
			return pfx, netip.Addr{}, fmt.Errorf("invalid gateway %s: not a host address of subnet %s", g, pfx)
		}
		gw = g
	}
	return pfx, gw, nil
}

// candidates are the subnets tried, in order, when none is given: Docker's
// 172.17-31/16, then 192.168.x.0/20 blocks.
func candidates() []netip.Prefix {
	var out []netip.Prefix
	for i := 17; i <= 31; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
	return out
}

// freeSubnet is the first candidate that clashes with no host route and
// no network of ours.
func (s *Store) freeSubnet() (netip.Prefix, error) {
	for _, c := range candidates() {
		if s.overlapping(c) == "" {
			return c, nil
		}
	}
	return netip.Prefix{}, errors.New("no free subnet left among the default candidates: give one with --subnet")
}

// overlapping names what p overlaps: a network of ours or a host route.
func (s *Store) overlapping(p netip.Prefix) string {
	nets, _ := s.List()
	for _, n := range nets {
		if n.prefix().Overlaps(p) {
			return "network " + n.Name
		}
	}
	routes, _ := netlink.RouteList(nil, netlink.FAMILY_V4)
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if ok && ones > 0 && netip.PrefixFrom(a, ones).Overlaps(p) {
			return "host route " + r.Dst.String()
		}
	}
	return ""
}

// ensureDefault returns the default network, creating its record on first
// use with COCIN_DEFAULT_SUBNET or the first free candidate.
func (s *Store) ensureDefault() (*Network, error) {
	n, err := s.read(DefaultName)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return n, err
	}
	subnet, gw, err := s.pickAddresses(os.Getenv(DefaultSubnetEnv), "")
	if err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	id := newID()
	n = &Network{
		Name: DefaultName, ID: id, Driver: "bridge", Subnet: subnet.String(), Gateway: gw.String(),
		Bridge: s.bridgeName(DefaultName, id), Created: time.Now().UTC(),
	}
	return n, writeJSON(s.netPath(n.Name), n)
}

// Remove deletes a network no running container uses. Containers that
// merely ask for it (stopped ones) lose it, as in Docker they would fail
// to start.
func (s *Store) Remove(name string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	n, err := s.Get(name)
	if err != nil {
		return err
	}
	if n.Name == DefaultName {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
	}
	users, err := s.liveOn(n.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("error while removing network %s: %w: %d container(s) attached", n.Name, ErrInUse, len(users))
	}
	return s.removeFiles(n)
}

func (s *Store) removeFiles(n *Network) error {
	if err := os.Remove(s.ipamPath(n.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Remove(s.netPath(n.Name))
}

// Prune removes the user-defined networks no running container uses.
func (s *Store) Prune() ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range nets {
		if n.Name == DefaultName {
			continue
		}
		if users, _ := s.liveOn(n.Name); len(users) > 0 {
			continue
		}
		if err := s.removeFiles(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, n.Name)
	}
	return removed, errors.Join(errs...)
}
