package engine

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/network"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// NetOptions are run's network flags.
type NetOptions struct {
	Network    string   // --network: none, host, bridge (default), NAME
	IP         string   // --ip
	Aliases    []string // --network-alias
	Publish    []string // -p
	PublishAll bool     // -P
	AddHosts   []string // --add-host NAME:IP
	DNS        []string // --dns
	DNSSearch  []string // --dns-search
}

// Networks opens the network store of this installation.
func (e *Engine) Networks() (*network.Store, error) { return network.Open(e.cfg.Root) }

// prepareNetwork checks the network flags, writes the container's
// resolv.conf and, for a bridge network, its network request (in its
// directory, so the request goes with it).
func (e *Engine) prepareNetwork(img *image.Image, o *RunOptions, rec *state.Container, hostname string, opts *specgen.Options) error {
	n := o.Net
	mode := n.Network
	if mode == "" || mode == "default" {
		mode = network.DefaultName
	}
	bridged := mode != "none" && mode != "host"
	if ref, ok := joinTarget(mode); ok {
		return e.prepareJoin(o, rec, ref, opts)
	}
	if !bridged && (len(n.Publish) > 0 || n.PublishAll) {
		return fmt.Errorf("conflicting options: port publishing and the container type network mode %q", mode)
	}
	if (n.IP != "" || len(n.Aliases) > 0) && (!bridged || mode == network.DefaultName) {
		return errors.New("--ip and --network-alias are supported on user-defined networks only")
	}
	if err := appendExtraHosts(filepath.Join(rec.Dir, "hosts"), n.AddHosts); err != nil {
		return err
	}
	opts.Network.Host = mode == "host"
	// Every container gets one, --network none included (as with Docker).
	m, err := writeResolvConf(rec.Dir, n, mode == "host")
	if err != nil {
		return err
	}
	opts.Mounts = append(opts.Mounts, m)
	if !bridged {
		return nil
	}
	return writeNetworkRequest(e, img, o, rec, hostname, mode)
}

func writeNetworkRequest(e *Engine, img *image.Image, o *RunOptions, rec *state.Container, hostname, mode string) error {
	if mode != network.DefaultName {
		st, err := e.Networks()
		if err != nil {
			return err
		}
		if _, err := st.Get(mode); err != nil {
			return err
		}
	}
	var ports []network.PortMap
	for _, p := range o.Net.Publish {
		pm, err := network.ParsePublish(p)
		if err != nil {
			return err
		}
		ports = append(ports, pm...)
	}
	if o.Net.PublishAll {
		pm, err := network.ExposedPorts(img.Config.Config.ExposedPorts)
		if err != nil {
			return err
		}
		ports = append(ports, pm...)
	}
	base, err := hostsBase(filepath.Join(rec.Dir, "hosts"), hostname)
	if err != nil {
		return err
	}
	return network.WriteRequest(rec.Dir, &network.Request{
		ID: rec.ID, Name: rec.Name, Hostname: hostname, HostsBase: base, Ports: ports,
		Networks: []network.Attachment{{Network: mode, Aliases: o.Net.Aliases, IP: o.Net.IP}},
	})
}

// hostsBase is the hosts file without its 127.0.1.1 line: on a network
// the host name maps to the container's address instead.
func hostsBase(path, hostname string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "127.0.1.1\t"+hostname+"\n" {
			out.WriteString(line)
		}
	}
	return out.String(), nil
}

func appendExtraHosts(path string, hosts []string) error {
	if len(hosts) == 0 {
		return nil
	}
	var b strings.Builder
	for _, h := range hosts {
		name, ip, ok := strings.Cut(h, ":")
		if !ok || name == "" {
			return fmt.Errorf("invalid argument %q for --add-host: want NAME:IP", h)
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("invalid argument %q for --add-host: invalid IP address %q", h, ip)
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(b.String())
	return errors.Join(err, f.Close())
}

// writeResolvConf writes the container's resolv.conf: --dns and
// --dns-search when given, else the host's, without loopback name servers
// (unreachable from a network namespace) unless the container shares the
// host's network.
func writeResolvConf(dir string, n NetOptions, hostNet bool) (specs.Mount, error) {
	var servers, search, other []string
	if f, err := os.Open("/etc/resolv.conf"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			switch fields[0] {
			case "nameserver":
				if a, err := netip.ParseAddr(fields[1]); err == nil && (hostNet || !a.IsLoopback()) {
					servers = append(servers, fields[1])
				}
			case "search", "domain":
				search = fields[1:]
			case "options":
				other = append(other, sc.Text())
			}
		}
		f.Close()
	}
	for _, s := range n.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return specs.Mount{}, fmt.Errorf("invalid argument %q for --dns: not an IP address", s)
		}
	}
	if len(n.DNS) > 0 {
		servers = n.DNS
	}
	if len(n.DNSSearch) > 0 {
		search = n.DNSSearch
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 && !(len(search) == 1 && search[0] == ".") {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, o := range other {
		b.WriteString(o + "\n")
	}
	p := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		return specs.Mount{}, err
	}
	return specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}}, nil
}

// attachNetwork connects a created container (init waiting, pid) to its
// networks. A container without a request (none, host) costs one stat.
func (e *Engine) attachNetwork(rec *state.Container, pid int) error {
	if _, err := os.Stat(network.RequestPath(rec.Dir)); err != nil {
		return e.attachJoined(rec)
	}
	st, err := e.Networks()
	if err != nil {
		return err
	}
	_, err = st.Attach(rec.Dir, pid)
	return err
}

// detachNetwork releases what attachNetwork took; it is idempotent and
// cheap when there is nothing.
func (e *Engine) detachNetwork(id string) {
	if !network.HasLive(e.cfg.Root, id) {
		network.Unjoin(e.cfg.Root, id)
		return
	}
	st, err := e.Networks()
	if err == nil {
		_ = st.Detach(id)
	}
}

// repairNetworks undoes the network state of containers that do not run.
func (e *Engine) repairNetworks() []string {
	st, err := e.Networks()
	if err != nil {
		return nil
	}
	return st.Repair(func(id string) bool {
		// Prune refreshed every record just before: no refresh here (it
		// would take the network lock we hold).
		c, err := e.Containers.Get(id)
		return err == nil && IsRunning(c)
	})
}
