package cli

import (
	"testing"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/spf13/pflag"
)

func parseRunFlags(t *testing.T, args ...string) (*engine.RunOptions, error) {
	t.Helper()
	o := &engine.RunOptions{}
	f := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addResourcesFlags(f, o)
	return o, f.Parse(args)
}

func TestResourceFlagsParse(t *testing.T) {
	o, err := parseRunFlags(t, "-m", "32m", "--memory-swap", "-1", "--memory-reservation", "1.5g", "--cpus", "1.25",
		"-c", "512", "--cpuset-cpus", "0-1", "--pids-limit", "-1", "--blkio-weight", "300", "--oom-kill-disable",
		"--device-read-bps", "/dev/sda:1mb", "--device-write-bps", "/dev/sdb:10k")
	if err != nil {
		t.Fatal(err)
	}
	l := o.Resources
	want := specgen.Limits{Memory: 32 << 20, MemorySwap: -1, MemoryReservation: 1536 << 20, NanoCpus: 1.25e9,
		CPUShares: 512, CpusetCpus: "0-1", PidsLimit: -1, BlkioWeight: 300, OomKillDisable: true}
	got := l
	got.BlkioDeviceReadBps, got.BlkioDeviceWriteBps = nil, nil
	if got.Memory != want.Memory || got.MemorySwap != want.MemorySwap || got.MemoryReservation != want.MemoryReservation ||
		got.NanoCpus != want.NanoCpus || got.CPUShares != want.CPUShares || got.CpusetCpus != want.CpusetCpus ||
		got.PidsLimit != want.PidsLimit || got.BlkioWeight != want.BlkioWeight || !got.OomKillDisable {
		t.Errorf("parsed %+v\nwant   %+v", got, want)
	}
	if r := l.BlkioDeviceReadBps; len(r) != 1 || r[0].Path != "/dev/sda" || r[0].Rate != 1<<20 {
		t.Errorf("device-read-bps %+v", r)
	}
	if w := l.BlkioDeviceWriteBps; len(w) != 1 || w[0].Rate != 10<<10 {
		t.Errorf("device-write-bps %+v", w)
	}
}

func TestResourceFlagsRefuse(t *testing.T) {
	for _, args := range [][]string{
		{"-m", "-5m"}, {"-m", "12x"}, {"--memory-swap", "-2"}, {"--cpus", "abc"}, {"--cpus", "-1"},
		{"--cpus", "0.0000000001"}, {"--blkio-weight", "-1"}, {"--device-read-bps", "sda:1m"},
		{"--device-read-bps", "/dev/sda"}, {"--device-write-bps", "/dev/sda:-1"},
	} {
		if _, err := parseRunFlags(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestUpdateCopiesOnlyChangedFlags(t *testing.T) {
	var set specgen.Limits
	f := pflag.NewFlagSet("update", pflag.ContinueOnError)
	addLimitFlags(f, &set)
	if err := f.Parse([]string{"-m", "128m", "--pids-limit", "20"}); err != nil {
		t.Fatal(err)
	}
	l := specgen.Limits{Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 10}
	changedLimits(f, &set)(&l)
	if l.Memory != 128<<20 || l.PidsLimit != 20 || l.NanoCpus != 5e8 {
		t.Fatalf("after update: %+v", l)
	}
}
