package cgroups

import (
	"errors"
	"fmt"
	"math"
)

// sharesToWeight converts v1 cpu.shares (2..262144, default 1024) to v2
// cpu.weight (1..10000, default 100) exactly as runc and
// opencontainers/cgroups (ConvertCPUSharesToCgroupV2Value) do: a quadratic in
// log2 space that maps 2→1, 1024→100 and 262144→10000, so the default share
// lands on the default weight (the old linear formula gave 39).
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0 // unset
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exponent := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exponent)))
}

// blkioToIOWeight converts a v1 blkio weight (10..1000) to v2 io.weight
// (1..10000) with runc's linear formula; 0 stays unset.
func blkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// swapToV2 converts the spec's memory+swap total to v2's swap-only
// memory.swap.max, as runc's ConvertMemorySwapToCgroupV2Value: 0 means
// "do not write", -1 means "max".
func swapToV2(memorySwap, memory int64) (int64, error) {
	switch {
	case memory == -1 && memorySwap == 0:
		// Unlimited memory without a swap setting: unlimited swap too, as v1.
		return -1, nil
	case memorySwap == -1, memorySwap == 0:
		return memorySwap, nil
	case memory == -1:
		return memorySwap, nil // unlimited memory: nothing to subtract
	case memory == 0:
		return 0, errors.New("a swap limit needs a memory limit")
	case memory < 0:
		return 0, fmt.Errorf("invalid memory limit %d", memory)
	case memorySwap < memory:
		return 0, fmt.Errorf("memory+swap limit %d is below the memory limit %d", memorySwap, memory)
	}
	return memorySwap - memory, nil
}
