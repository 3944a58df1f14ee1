package runtimecli

import "testing"

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"100M": 100 << 20, "1g": 1 << 30, "4096": 4096, "-1": -1, "512k": 512 << 10} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q: %d %v, want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "1x", "-2"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("%q: want an error, got %d", bad, b)
		}
	}
}
