package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// pool is a subnet's address bitmap: bit i stands for the subnet's first
// address + i. The network address, the gateway and the broadcast address
// are marked used when the pool is made and never released.
type pool struct {
	prefix netip.Prefix
	bits   []byte
}

func newPool(prefix netip.Prefix, gateway netip.Addr) (*pool, error) {
	size, err := poolSize(prefix)
	if err != nil {
		return nil, err
	}
	p := &pool{prefix: prefix.Masked(), bits: make([]byte, (size+7)/8)}
	p.set(0, true)
	p.set(size-1, true)
	if i, ok := p.index(gateway); ok {
		p.set(i, true)
	}
	return p, nil
}

func poolSize(prefix netip.Prefix) (uint64, error) {
	if !prefix.Addr().Is4() {
		return 0, fmt.Errorf("subnet %s: only IPv4 subnets are supported", prefix)
	}
	if prefix.Bits() > 30 || prefix.Bits() < 8 {
		return 0, fmt.Errorf("subnet %s: the prefix length must be between /8 and /30", prefix)
	}
	return 1 << (32 - prefix.Bits()), nil
}

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func fromU32(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// index is addr's bit; ok is false outside the subnet.
func (p *pool) index(addr netip.Addr) (uint64, bool) {
	if !addr.Is4() || !p.prefix.Contains(addr) {
		return 0, false
	}
	return uint64(u32(addr) - u32(p.prefix.Addr())), true
}

// addr is bit i's address; 32-bit arithmetic carries across octets.
func (p *pool) addr(i uint64) netip.Addr { return fromU32(u32(p.prefix.Addr()) + uint32(i)) }

func (p *pool) used(i uint64) bool { return p.bits[i/8]&(1<<(i%8)) != 0 }

func (p *pool) set(i uint64, v bool) {
	if v {
		p.bits[i/8] |= 1 << (i % 8)
	} else {
		p.bits[i/8] &^= 1 << (i % 8)
	}
}

var errExhausted = errors.New("no available IP addresses in the subnet")

// allocate takes want (when valid) or the first free address.
func (p *pool) allocate(want netip.Addr) (netip.Addr, error) {
	if want.IsValid() {
		i, ok := p.index(want)
		if !ok {
			return netip.Addr{}, fmt.Errorf("address %s is not in subnet %s", want, p.prefix)
		}
		if i == 0 || i == uint64(len(p.bits))*8-1 || p.used(i) {
			return netip.Addr{}, fmt.Errorf("address %s is already in use or reserved", want)
		}
		p.set(i, true)
		return want, nil
	}
	for byteIdx, b := range p.bits {
		if b == 0xff {
			continue
		}
		for bit := uint64(0); bit < 8; bit++ {
			i := uint64(byteIdx)*8 + bit
			if !p.used(i) {
				p.set(i, true)
				return p.addr(i), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: %w", p.prefix, errExhausted)
}

func (p *pool) release(a netip.Addr) {
	if i, ok := p.index(a); ok && i != 0 && i != uint64(len(p.bits))*8-1 {
		p.set(i, false)
	}
}

// loadPool reads n's bitmap; a missing file is a fresh pool.
func (s *Store) loadPool(n *Network) (*pool, error) {
	p, err := newPool(n.prefix(), n.gateway())
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.ipamPath(n.Name))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != len(p.bits) {
		return nil, fmt.Errorf("network %s: address bitmap has %d bytes, want %d", n.Name, len(b), len(p.bits))
	}
	p.bits = b
	return p, nil
}

func (s *Store) savePool(n *Network, p *pool) error {
	return writeAtomic(s.ipamPath(n.Name), p.bits)
}
