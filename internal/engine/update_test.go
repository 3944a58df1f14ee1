package engine

import (
	"testing"

	"github.com/cocin-dev/cocin/internal/specgen"
)

// TestRescaleDefaultSwap: update -m moves Docker's default swap along, but
// never a swap the user set, even one that happens to be twice the memory.
func TestRescaleDefaultSwap(t *testing.T) {
	host := specgen.Host{SwapLimit: true, NumCPU: 1}
	const m = 64 << 20
	created := func(l specgen.Limits) specgen.Limits {
		if err := l.Check(host); err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []struct {
		name     string
		old      specgen.Limits
		change   func(*specgen.Limits)
		wantSwap int64
	}{
		{"default follows -m", created(specgen.Limits{Memory: m}), func(l *specgen.Limits) { l.Memory = 2 * m }, 4 * m},
		{"explicit 2x stays", created(specgen.Limits{Memory: m, MemorySwap: 2 * m}), func(l *specgen.Limits) { l.Memory = m / 2 }, 2 * m},
		{"explicit in the update", created(specgen.Limits{Memory: m}), func(l *specgen.Limits) { l.Memory, l.MemorySwap = 2*m, 3*m }, 3 * m},
	}
	for _, c := range cases {
		l := c.old
		c.change(&l)
		rescaleDefaultSwap(c.old, &l)
		if err := l.Check(host); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if l.MemorySwap != c.wantSwap {
			t.Errorf("%s: swap %d, want %d", c.name, l.MemorySwap, c.wantSwap)
		}
	}
	// A swap set by an update is the user's from then on.
	l := created(specgen.Limits{Memory: m})
	next := l
	next.Memory, next.MemorySwap = 2*m, 4*m
	rescaleDefaultSwap(l, &next)
	after := next
	after.Memory = 3 * m
	rescaleDefaultSwap(next, &after)
	if err := after.Check(host); err != nil || after.MemorySwap != 4*m {
		t.Errorf("swap set by update -m --memory-swap then moved: %d, %v", after.MemorySwap, err)
	}
}
