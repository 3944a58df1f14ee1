package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ensureBridge makes n's bridge with the gateway address, up. A bridge
// that already exists (another container's) is kept.
func ensureBridge(n *Network) (err error) {
	if l, lerr := netlink.LinkByName(n.Bridge); lerr == nil {
		return netlink.LinkSetUp(l)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
	}
	defer func() {
		if err != nil {
			_ = netlink.LinkDel(br)
		}
	}()
	addr, _ := netlink.ParseAddr(n.gatewayCIDR())
	if err := netlink.AddrAdd(br, addr); err != nil {
		return fmt.Errorf("bridge %s: add %s: %w", n.Bridge, n.gatewayCIDR(), err)
	}
	// 127.0.0.1:HOSTPORT is DNATed to a container: the kernel must accept
	// routing a loopback source out of this bridge.
	if err := writeSysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("bridge %s up: %w", n.Bridge, err)
	}
	if !n.Internal {
		// A host-wide setting, needed for any routed container traffic;
		// set only when a bridge that leaves the host is in use.
		return enableForwarding()
	}
	return nil
}

func enableForwarding() error {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err == nil && len(b) > 0 && b[0] == '1' {
		return nil
	}
	return writeSysctl("net/ipv4/ip_forward", "1")
}

func writeSysctl(key, val string) error {
	if err := os.WriteFile("/proc/sys/"+key, []byte(val), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, val, err)
	}
	return nil
}

func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(l)
}

// macFor derives the MAC from the address (Docker's 02:42:a.b.c.d), so a
// reused address keeps its neighbours' ARP entries right.
func macFor(ip netip.Addr) net.HardwareAddr {
	b := ip.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

// plugVeth creates a veth pair whose host end joins n's bridge and whose
// other end appears as ifname in the netns of pid, addressed and routed.
func plugVeth(n *Network, ep *Endpoint, pid int) (err error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of %d: %w", pid, err)
	}
	defer ns.Close()
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	ip := netip.MustParseAddr(ep.IP)
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: ep.HostVeth, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:         ep.IfName,
		PeerHardwareAddr: macFor(ip),
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", ep.HostVeth, err)
	}
	defer func() {
		if err != nil {
			_ = netlink.LinkDel(veth)
		}
	}()
	// A container reaching its own published port through the host
	// comes back out of the bridge port it entered by.
	if err := netlink.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("veth %s hairpin: %w", ep.HostVeth, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("veth %s up: %w", ep.HostVeth, err)
	}
	ep.MAC = macFor(ip).String()
	return configureInside(n, ep, ns)
}

// configureInside addresses the container's end and, for a network that
// leaves the host, routes through the gateway. Loopback comes up too.
func configureInside(n *Network, ep *Endpoint, ns netns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in container: %w", err)
	}
	defer h.Close()
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	link, err := h.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("container %s: %w", ep.IfName, err)
	}
	addr, _ := netlink.ParseAddr(n.addrCIDR(ep.IP))
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("container %s: add %s: %w", ep.IfName, ep.IP, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("container %s up: %w", ep.IfName, err)
	}
	if n.Internal {
		return nil
	}
	return routeDefault(h, ep)
}

// addDefaultRoute routes the container (init pid) through ep's gateway
// unless it has a default route already.
func addDefaultRoute(pid int, ep *Endpoint) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of %d: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in container: %w", err)
	}
	defer h.Close()
	return routeDefault(h, ep)
}

// routeDefault adds a default route via ep's gateway when the namespace
// has none: the first network that leaves the host gives it, and a
// network connected later only when the one that gave it left.
func routeDefault(h *netlink.Handle, ep *Endpoint) error {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("container routes: %w", err)
	}
	for _, r := range routes {
		if isDefault(r) {
			return nil
		}
	}
	link, err := h.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("container %s: %w", ep.IfName, err)
	}
	gw := net.ParseIP(ep.Gateway)
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw}); err != nil {
		return fmt.Errorf("container default route via %s: %w", gw, err)
	}
	return nil
}

// isDefault reports whether r is a default route (netlink gives its
// destination as nil or as 0.0.0.0/0 depending on the version).
func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}
