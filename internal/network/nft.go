package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ruleset is what cocin's table must hold: the networks in use and the
// published ports of the running containers.
type ruleset struct {
	nets  []*Network
	ports []dnat
}

type dnat struct {
	PortMap
	ctrIP string
}

// syncTable replaces cocin's table with rs in one atomic batch (add,
// delete, re-add), or deletes it when nothing needs it. A rule set equal
// to the one last written (since boot) is not written again: a container
// without published ports on an existing network changes nothing.
func (s *Store) syncTable(rs ruleset) error {
	sum := rs.fingerprint()
	if !s.forceTable && s.tableSum() == sum {
		return nil
	}
	if err := s.writeTable(rs); err != nil {
		_ = os.Remove(s.tableSumPath())
		return err
	}
	return writeAtomic(s.tableSumPath(), []byte(sum))
}

func (s *Store) writeTable(rs ruleset) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: s.TableName()}
	c.AddTable(t)
	c.DelTable(t)
	if len(rs.nets) > 0 {
		c.AddTable(t)
		buildTable(c, t, rs)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", t.Name, err)
	}
	return nil
}

func buildTable(c *nftables.Conn, t *nftables.Table, rs ruleset) {
	accept := nftables.ChainPolicyAccept
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	add := func(ch *nftables.Chain, e ...expr.Any) { c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e}) }
	forwardRules(func(e ...expr.Any) { add(fwd, e...) }, rs.nets)
	for _, n := range rs.nets {
		if n.Internal {
			continue
		}
		br := n.Bridge
		// Outbound NAT for what leaves the host.
		add(post, cat(ipv4(), saddr(n.prefix()), ifname(unix.NFT_META_OIFNAME, br, false), []expr.Any{&expr.Masq{}})...)
		// Published ports reached from loopback, or from a container
		// through the host's address (hairpin): answer through us.
		add(post, cat(ipv4(), ifname(unix.NFT_META_OIFNAME, br, true), saddr(netip.MustParsePrefix("127.0.0.0/8")), []expr.Any{&expr.Masq{}})...)
		add(post, cat(ipv4(), ifname(unix.NFT_META_OIFNAME, br, true), saddr(n.prefix()), ctDNAT(), []expr.Any{&expr.Masq{}})...)
	}
	for _, p := range rs.ports {
		add(pre, dnatRule(p)...)
		add(out, dnatRule(p)...)
	}
}

// forwardRules fills the forward chain. Its policy stays accept (a base
// chain's drop would also drop the host's own forwarding, which is not
// ours), so each bridge ends with an explicit drop of what enters it. The
// order is what Docker's FORWARD chains amount to:
//
//  1. internal networks: nothing in or out but between their own ports;
//  2. published ports (DNATed connections) are reachable from anywhere;
//  3. networks are isolated from each other;
//  4. replies to connections the containers made come back;
//  5. what leaves a bridge (outbound, or to the same bridge) goes;
//  6. anything else entering a bridge is dropped.
func forwardRules(add func(...expr.Any), nets []*Network) {
	var open []string
	for _, n := range nets {
		if n.Internal {
			add(cat(ifname(unix.NFT_META_IIFNAME, n.Bridge, true), ifname(unix.NFT_META_OIFNAME, n.Bridge, false), verdict(expr.VerdictDrop))...)
			add(cat(ifname(unix.NFT_META_OIFNAME, n.Bridge, true), ifname(unix.NFT_META_IIFNAME, n.Bridge, false), verdict(expr.VerdictDrop))...)
		} else {
			open = append(open, n.Bridge)
		}
	}
	if len(open) == 0 {
		return
	}
	add(cat(ctDNAT(), verdict(expr.VerdictAccept))...)
	for _, br := range open {
		add(cat(ifname(unix.NFT_META_IIFNAME, br, true), ifname(unix.NFT_META_OIFNAME, br, false), ifPrefix(unix.NFT_META_OIFNAME, "cocin"), verdict(expr.VerdictDrop))...)
	}
	add(cat(ctStateEstablished(), verdict(expr.VerdictAccept))...)
	for _, br := range open {
		add(cat(ifname(unix.NFT_META_IIFNAME, br, true), verdict(expr.VerdictAccept))...)
		add(cat(ifname(unix.NFT_META_OIFNAME, br, true), verdict(expr.VerdictDrop))...)
	}
}

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

func ifnameBytes(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: ifnameBytes(name)}}
}

// ifPrefix matches interface names starting with prefix.
func ifPrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(prefix)}}
}

func ipv4() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}}}
}

func saddr(p netip.Prefix) []expr.Any { return addrMatch(12, p) }

func addrMatch(offset uint32, p netip.Prefix) []expr.Any {
	mask := make([]byte, 4)
	binary.BigEndian.PutUint32(mask, ^uint32(0)<<(32-p.Bits()))
	a := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

func ctStateEstablished() []expr.Any {
	bits := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// ctDNAT matches connections whose destination was rewritten (a
// published port).
func ctDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(0x20), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// dnatRule: [ip daddr HOSTIP] fib daddr type local PROTO dport HOSTPORT
// dnat ip to CTRIP:CTRPORT.
func dnatRule(p dnat) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e := ipv4()
	if p.HostIP != "" && p.HostIP != "0.0.0.0" {
		e = append(e, addrMatch(16, netip.PrefixFrom(netip.MustParseAddr(p.HostIP), 32))...)
	}
	ctr := netip.MustParseAddr(p.ctrIP).As4()
	return append(e,
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
		&expr.Immediate{Register: 1, Data: ctr[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}

func (s *Store) tableSumPath() string { return filepath.Join(s.dir, "table.sum") }

func (s *Store) tableSum() string {
	b, _ := os.ReadFile(s.tableSumPath())
	return string(b)
}

// fingerprint names everything the table is built from, and the boot (a
// reboot empties the kernel's tables).
func (rs ruleset) fingerprint() string {
	var b strings.Builder
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	b.Write(boot)
	// The layout's version: a table an older cocin wrote is rewritten.
	b.WriteString("forward-v2\n")
	for _, n := range rs.nets {
		fmt.Fprintf(&b, "net %s %s %s %t\n", n.Bridge, n.Subnet, n.Gateway, n.Internal)
	}
	for _, p := range rs.ports {
		fmt.Fprintf(&b, "port %s %s %d %d %s\n", p.HostIP, p.Proto, p.HostPort, p.ContainerPort, p.ctrIP)
	}
	return b.String()
}
