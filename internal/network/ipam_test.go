package network

import (
	"net/netip"
	"testing"
)

func TestPoolExcludesReservedAndCarries(t *testing.T) {
	p, err := newPool(netip.MustParsePrefix("10.1.0.0/23"), netip.MustParseAddr("10.1.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for {
		a, err := p.allocate(netip.Addr{})
		if err != nil {
			break
		}
		if seen[a] {
			t.Fatalf("%s given twice", a)
		}
		seen[a] = true
	}
	// 512 addresses minus network, gateway, broadcast.
	if len(seen) != 509 {
		t.Fatalf("allocated %d addresses, want 509", len(seen))
	}
	for _, r := range []string{"10.1.0.0", "10.1.0.1", "10.1.1.255"} {
		if seen[netip.MustParseAddr(r)] {
			t.Errorf("reserved %s allocated", r)
		}
	}
	if !seen[netip.MustParseAddr("10.1.1.0")] || !seen[netip.MustParseAddr("10.1.0.255")] {
		t.Error("carry into the third octet missing")
	}
	if _, err := p.allocate(netip.Addr{}); err == nil {
		t.Fatal("exhausted pool gave an address")
	}
	p.release(netip.MustParseAddr("10.1.1.7"))
	if a, err := p.allocate(netip.Addr{}); err != nil || a.String() != "10.1.1.7" {
		t.Fatalf("after release got %v %v, want 10.1.1.7", a, err)
	}
}

func TestPoolRequested(t *testing.T) {
	p, _ := newPool(netip.MustParsePrefix("192.168.5.0/24"), netip.MustParseAddr("192.168.5.1"))
	for _, bad := range []string{"192.168.5.0", "192.168.5.1", "192.168.5.255", "192.168.6.2"} {
		if _, err := p.allocate(netip.MustParseAddr(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := p.allocate(netip.MustParseAddr("192.168.5.9")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.allocate(netip.MustParseAddr("192.168.5.9")); err == nil {
		t.Fatal("same address given twice")
	}
	if _, err := newPool(netip.MustParsePrefix("10.0.0.0/31"), netip.Addr{}); err == nil {
		t.Fatal("/31 accepted")
	}
}
