package network

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// PortMap is one published port: HostIP:HostPort -> the container's
// ContainerPort. HostPort 0 until the container starts means "any free one".
type PortMap struct {
	HostIP        string `json:"HostIp"`
	HostPort      uint16 `json:"HostPort"`
	ContainerPort uint16 `json:"ContainerPort"`
	Proto         string `json:"Protocol"`
}

func (p PortMap) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%d/%s -> %s", p.ContainerPort, p.Proto, net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort))))
}

// ParsePublish parses one -p value: [IP:][HOST[-HOST]:]CTR[-CTR][/tcp|udp].
func ParsePublish(spec string) ([]PortMap, error) {
	bad := func(why string) ([]PortMap, error) {
		return nil, fmt.Errorf("invalid port specification %q: %s", spec, why)
	}
	rest, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad("protocol must be tcp or udp")
	}
	var ip, host, ctr string
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctr = parts[0]
	case 2:
		host, ctr = parts[0], parts[1]
	case 3:
		ip, host, ctr = parts[0], parts[1], parts[2]
	default:
		return bad("want [IP:][HOST:]CONTAINER[/PROTO]")
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return bad("host IP must be an IPv4 address")
		}
	}
	clo, chi, err := parseRange(ctr)
	if err != nil {
		return bad("container port: " + err.Error())
	}
	hlo, hhi := uint16(0), uint16(0)
	if host != "" {
		if hlo, hhi, err = parseRange(host); err != nil {
			return bad("host port: " + err.Error())
		}
		if hhi-hlo != chi-clo {
			return bad("host and container port ranges differ in length")
		}
	} else if chi != clo {
		return bad("a container port range needs a host port range")
	}
	var out []PortMap
	for i := 0; i <= int(chi-clo); i++ {
		hp := uint16(0)
		if hlo != 0 {
			hp = hlo + uint16(i)
		}
		out = append(out, PortMap{HostIP: ip, HostPort: hp, ContainerPort: clo + uint16(i), Proto: proto})
	}
	return out, nil
}

func parseRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parsePort(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return a, a, nil
	}
	b, err := parsePort(hi)
	if err != nil {
		return 0, 0, err
	}
	if b < a {
		return 0, 0, fmt.Errorf("range %s ends before it starts", s)
	}
	return a, b, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}

// ExposedPorts turns an image's EXPOSE set ("80/tcp") into -P mappings.
func ExposedPorts(exposed map[string]struct{}) ([]PortMap, error) {
	var out []PortMap
	for k := range exposed {
		port, proto, ok := strings.Cut(k, "/")
		if !ok {
			proto = "tcp"
		}
		lo, hi, err := parseRange(port)
		if err != nil || (proto != "tcp" && proto != "udp") {
			return nil, fmt.Errorf("image exposes an invalid port %q", k)
		}
		for p := int(lo); p <= int(hi); p++ {
			out = append(out, PortMap{ContainerPort: uint16(p), Proto: proto})
		}
	}
	return out, nil
}

// reserveHostPort checks that nothing on the host holds the port (binding
// it), and picks a free one for HostPort 0. The socket is closed again:
// the traffic is DNATed in the kernel, no process listens.
func reserveHostPort(p *PortMap) error {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
	var port int
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return fmt.Errorf("cannot publish %s: host port is taken: %w", p, err)
		}
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	} else {
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return fmt.Errorf("cannot publish %s: host port is taken: %w", p, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	p.HostPort = uint16(port)
	return nil
}

// allocHostPort reserves p's host port. No socket holds a published port
// (the kernel DNATs it), so the bind test cannot see those: a fixed port
// is checked against them first, and a free one is drawn again while it
// falls on one of them.
func allocHostPort(p *PortMap, taken func(PortMap) error) error {
	if p.HostPort != 0 {
		if err := taken(*p); err != nil {
			return err
		}
		return reserveHostPort(p)
	}
	for try := 0; try < 20; try++ {
		q := *p
		if err := reserveHostPort(&q); err != nil {
			return err
		}
		if taken(q) == nil {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("cannot publish %s: no free host port found", p)
}

// portTaken says whether p's host socket is published already: by one of
// l's own mappings made before it (two -p for one host port), or by
// another running container.
func portTaken(p PortMap, l *Live, others []*Live) error {
	for _, q := range l.Ports {
		if clashes(p, q) {
			//lint:ignore ST1005 Docker's wording, which scripts match
			return fmt.Errorf("Bind for %s failed: port is already allocated", hostAddr(q))
		}
	}
	for _, o := range others {
		if o.ID == l.ID {
			continue
		}
		for _, q := range o.Ports {
			if clashes(p, q) {
				return fmt.Errorf("cannot publish %s: host port is already published by container %s", p, o.Name)
			}
		}
	}
	return nil
}

func hostAddr(p PortMap) string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
}

// clashes reports whether two mappings want the same host socket.
func clashes(a, b PortMap) bool {
	if a.Proto != b.Proto || a.HostPort != b.HostPort {
		return false
	}
	return a.HostIP == b.HostIP || a.HostIP == "" || b.HostIP == "" || a.HostIP == "0.0.0.0" || b.HostIP == "0.0.0.0"
}
