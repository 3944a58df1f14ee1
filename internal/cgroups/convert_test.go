package cgroups

import "testing"

func TestSharesToWeight(t *testing.T) {
	// The fixed points of runc's quadratic-in-log2 fit, and the clamps.
	cases := map[uint64]uint64{
		0: 0, 1: 1, 2: 1, 3: 2, 1024: 100, 262143: 10000, 262144: 10000, 1 << 20: 10000,
		512: 59, 2048: 174,
	}
	for shares, want := range cases {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestBlkioToIOWeight(t *testing.T) {
	cases := map[uint16]uint64{0: 0, 10: 1, 500: 4950, 1000: 10000}
	for w, want := range cases {
		if got := blkioToIOWeight(w); got != want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	// runc's ConvertMemorySwapToCgroupV2Value table.
	cases := []struct {
		swap, mem, want int64
		err             bool
	}{
		{0, 0, 0, false},
		{-1, 0, -1, false},
		{300, -1, 300, false},
		{-1, -1, -1, false},
		{0, -1, -1, false},
		{-2, 0, 0, true},
		{-1, 1000, -1, false},
		{1000, 1000, 0, false},
		{500, 200, 300, false},
		{300, 400, 0, true},
		{300, 0, 0, true},
		{300, -300, 0, true},
	}
	for _, c := range cases {
		got, err := swapToV2(c.swap, c.mem)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("swapToV2(%d, %d) = %d, %v; want %d, err %v", c.swap, c.mem, got, err, c.want, c.err)
		}
	}
}
