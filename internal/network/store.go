// Package network is cocin's bridge driver: networks and their IPAM
// (a bitmap per subnet), veth pairs through netlink, NAT, forwarding and
// published ports in cocin's own nftables table, and the /etc/hosts of the
// containers on a network.
//
// Layout under <root>/networks:
//
//	lock                 flock serialising every change below
//	<name>.json          a network's configuration
//	<name>.ipam          its address bitmap (bit i: network address + i in use)
//	config/<id>.json     what a container asked for (networks, aliases, --ip, ports)
//	live/<id>.json       what a running container holds (veths, addresses, ports)
//
// Bridges, the nftables table and the live records exist only while some
// container uses them: the first container on a network makes its bridge,
// the last one to leave removes it.
package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cocin-dev/cocin/internal/state"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"
)

// DefaultName is the network a container joins without --network.
const DefaultName = "bridge"

// DefaultRoot is cocin's default data root; its default bridge is cocin0
// and its table "inet cocin". Other roots get names derived from their path
// so that private installations (tests) never share them.
const DefaultRoot = state.DefaultRoot

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("no such network")
	ErrExists   = errors.New("network already exists")
	ErrInUse    = errors.New("network has active endpoints")
)

// Network is one network's configuration.
type Network struct {
	Name     string    `json:"Name"`
	ID       string    `json:"Id"`
	Driver   string    `json:"Driver"`
	Subnet   string    `json:"Subnet"`
	Gateway  string    `json:"Gateway"`
	Internal bool      `json:"Internal"`
	Bridge   string    `json:"Bridge"`
	Created  time.Time `json:"Created"`
}

func (n *Network) prefix() netip.Prefix { return netip.MustParsePrefix(n.Subnet) }
func (n *Network) gateway() netip.Addr  { return netip.MustParseAddr(n.Gateway) }
func (n *Network) userDefined() bool    { return n.Name != DefaultName }
func (n *Network) gatewayCIDR() string  { return fmt.Sprintf("%s/%d", n.Gateway, n.prefix().Bits()) }
func (n *Network) addrCIDR(ip string) string {
	return fmt.Sprintf("%s/%d", ip, n.prefix().Bits())
}

// Store is the network state under <root>/networks.
type Store struct {
	dir  string
	inst string // "" for the default root, else a short hash of the root
	// teardown removes the default bridge when no container uses it;
	// forceTable rewrites the table even when its rules did not change
	// (both for Repair).
	teardown, forceTable bool
}

// Open returns the store of the installation rooted at root.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "networks")
	for _, d := range []string{dir, filepath.Join(dir, "config"), filepath.Join(dir, "live")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create network store: %w", err)
		}
	}
	return &Store{dir: dir, inst: state.InstanceTag(root)}, nil
}

// TableName is the nftables table (family inet) of this installation.
func (s *Store) TableName() string {
	if s.inst == "" {
		return "cocin"
	}
	return "cocin-" + s.inst
}

// lock takes the store's lock; every change to networks, bitmaps, records,
// bridges, rules and hosts files happens under it.
func (s *Store) lock() (func(), error) {
	unlock, err := state.LockFile(filepath.Join(s.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("network lock: %w", err)
	}
	return unlock, nil
}

var nameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)
})

// ValidateName checks a network name as Docker does.
func ValidateName(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return nil
}

func (s *Store) netPath(name string) string  { return filepath.Join(s.dir, name+".json") }
func (s *Store) ipamPath(name string) string { return filepath.Join(s.dir, name+".ipam") }

// Get returns the network named name, or whose ID starts with name.
func (s *Store) Get(name string) (*Network, error) {
	if n, err := s.read(name); err == nil || !errors.Is(err, ErrNotFound) {
		return n, err
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var found *Network
	for _, n := range all {
		if len(name) >= 3 && len(name) <= len(n.ID) && n.ID[:len(name)] == name {
			if found != nil {
				return nil, fmt.Errorf("network %s: ambiguous ID prefix", name)
			}
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return found, nil
}

func (s *Store) read(name string) (*Network, error) {
	if ValidateName(name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	b, err := os.ReadFile(s.netPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	n := &Network{}
	if err := json.Unmarshal(b, n); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	return n, nil
}

// List returns every network, by name.
func (s *Store) List() ([]*Network, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []*Network
	for _, e := range ents {
		name, ok := cutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if n, err := s.read(name); err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// writeJSON replaces path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// bridgeName is the bridge of a network: cocin0 for the default network
// of the default root, otherwise cocin + 10 hex digits of the network's ID.
func (s *Store) bridgeName(name, id string) string {
	if name == DefaultName && s.inst == "" {
		return "cocin0"
	}
	return "cocin" + id[:10]
}
