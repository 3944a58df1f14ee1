package network

import "testing"

// A network connected after another was disconnected takes the lowest
// free index, never one an endpoint still uses.
func TestFreeIndex(t *testing.T) {
	eps := func(names ...string) *Live {
		l := &Live{ID: "0123456789abcdef"}
		for _, n := range names {
			l.Endpoints = append(l.Endpoints, Endpoint{IfName: n})
		}
		return l
	}
	for _, c := range []struct {
		l    *Live
		want int
	}{
		{eps(), 0},
		{eps("eth0"), 1},
		{eps("eth1"), 0},
		{eps("eth0", "eth1"), 2},
		{eps("eth1", "eth0", "eth3"), 2},
	} {
		if got := freeIndex(c.l); got != c.want {
			t.Errorf("freeIndex(%v) = %d, want %d", c.l.Endpoints, got, c.want)
		}
	}
	if got := hostVeth("0123456789abcdef", 12); got != "cocin0123456712" || len(got) > 15 {
		t.Errorf("hostVeth = %q", got)
	}
}

func TestUniqNames(t *testing.T) {
	got := uniq([]string{"0123456789ab", "web", "db", "0123456789ab", ""})
	if len(got) != 3 || got[0] != "0123456789ab" || got[1] != "web" || got[2] != "db" {
		t.Errorf("uniq = %q", got)
	}
}
