package specgen

import (
	"errors"
	"strings"
	"testing"
)

var testHost = Host{CPUs: map[int]bool{0: true, 1: true}, Mems: map[int]bool{0: true}, NumCPU: 2, SwapLimit: true}

func TestLimitsResources(t *testing.T) {
	l := Limits{Memory: 32 << 20, MemoryReservation: 16 << 20, NanoCpus: 5e8, CPUShares: 512,
		CpusetCpus: "0", CpusetMems: "0", PidsLimit: 10, BlkioWeight: 300}
	if err := l.Check(testHost); err != nil {
		t.Fatal(err)
	}
	r, err := l.Resources()
	if err != nil {
		t.Fatal(err)
	}
	m, c := r.Memory, r.CPU
	if *m.Limit != 32<<20 || *m.Swap != 64<<20 || *m.Reservation != 16<<20 || m.DisableOOMKiller != nil {
		t.Errorf("memory %+v: want limit 32M, swap default 64M, reservation 16M", m)
	}
	if *c.Quota != 50000 || *c.Period != 100000 || *c.Shares != 512 || c.Cpus != "0" || c.Mems != "0" {
		t.Errorf("cpu %+v", c)
	}
	if *r.Pids.Limit != 10 || *r.BlockIO.Weight != 300 {
		t.Errorf("pids %v blkio %v", *r.Pids.Limit, *r.BlockIO.Weight)
	}
}

func TestLimitsResourcesUnsetIsNil(t *testing.T) {
	r, err := (&Limits{}).Resources()
	if err != nil || r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil {
		t.Fatalf("empty limits gave %+v, %v", r, err)
	}
	r, _ = (&Limits{CPUPeriod: 50000, CPUQuota: -1, PidsLimit: -1, MemorySwap: -1, Memory: 8 << 20}).Resources()
	if *r.CPU.Period != 50000 || *r.CPU.Quota != -1 || *r.Pids.Limit != -1 || *r.Memory.Swap != -1 {
		t.Fatalf("explicit unlimited values lost: %+v %+v", r.CPU, r.Memory)
	}
}

func TestLimitsThrottleDevices(t *testing.T) {
	old := blockDevice
	defer func() { blockDevice = old }()
	blockDevice = func(p string) (int64, int64, error) {
		if p == "/dev/sda" {
			return 8, 0, nil
		}
		return 0, 0, errors.New("device " + p + ": not a block device")
	}
	l := Limits{BlkioDeviceReadBps: []ThrottleDevice{{"/dev/sda", 1 << 20}}, BlkioDeviceWriteBps: []ThrottleDevice{{"/dev/sda", 2 << 20}}}
	r, err := l.Resources()
	if err != nil {
		t.Fatal(err)
	}
	rd, wr := r.BlockIO.ThrottleReadBpsDevice, r.BlockIO.ThrottleWriteBpsDevice
	if len(rd) != 1 || rd[0].Major != 8 || rd[0].Rate != 1<<20 || len(wr) != 1 || wr[0].Rate != 2<<20 {
		t.Fatalf("throttle %+v %+v", rd, wr)
	}
	l.BlkioDeviceReadBps[0].Path = "/dev/null"
	if err := l.Check(testHost); err == nil {
		t.Fatal("a non-block device was accepted")
	}
}

func TestLimitsCheckRefuses(t *testing.T) {
	cases := map[string]Limits{
		"6MB":                 {Memory: 5 << 20},
		"invalid memory":      {Memory: -1},
		"needs --memory":      {MemorySwap: 64 << 20},
		"larger than memory":  {Memory: 64 << 20, MemorySwap: 32 << 20},
		"invalid memory+swap": {MemorySwap: -2},
		"reservation":         {Memory: 64 << 20, MemoryReservation: 128 << 20},
		"--cpu-period":        {NanoCpus: 5e8, CPUPeriod: 100000},
		"--cpu-quota":         {NanoCpus: 5e8, CPUQuota: 50000},
		"range of CPUs":       {NanoCpus: 3e9},
		"cfs period":          {CPUPeriod: 999},
		"cfs quota":           {CPUQuota: 10},
		"cpu-shares":          {CPUShares: -1},
		"cpu-shares 1:":       {CPUShares: 1},
		"cpu-shares 262145":   {CPUShares: 262145},
		"not available":       {CpusetCpus: "0-2"},
		"invalid value":       {CpusetCpus: "1-0"},
		"memory nodes":        {CpusetMems: "1"},
		"pids-limit":          {PidsLimit: -2},
		"blkio weight":        {BlkioWeight: 1001},
	}
	for want, l := range cases {
		err := l.Check(testHost)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want one mentioning %q", l, err, want)
		}
	}
}

func TestLimitsCheckSwapDefaults(t *testing.T) {
	l := Limits{Memory: 64 << 20}
	if err := l.Check(Host{SwapLimit: false, NumCPU: 1}); err != nil || l.MemorySwap != 0 {
		t.Fatalf("without swap accounting: swap %d, %v", l.MemorySwap, err)
	}
	l = Limits{Memory: 64 << 20, MemorySwap: 128 << 20}
	if err := l.Check(Host{SwapLimit: false, NumCPU: 1}); err == nil {
		t.Fatal("an explicit swap limit was accepted without swap accounting")
	}
	l = Limits{Memory: 64 << 20, MemorySwap: -1}
	if err := l.Check(testHost); err != nil || l.MemorySwap != -1 {
		t.Fatalf("unlimited swap: %d, %v", l.MemorySwap, err)
	}
}

func TestParseAndFormatList(t *testing.T) {
	set, err := ParseCPUList("0-2,5, 7")
	if err == nil {
		t.Fatalf("a space inside the list was accepted: %v", set)
	}
	set, err = ParseCPUList("0-2,5,7")
	if err != nil || len(set) != 5 || !set[5] || set[3] {
		t.Fatalf("ParseCPUList = %v, %v", set, err)
	}
	if got := FormatList(set); got != "0-2,5,7" {
		t.Fatalf("FormatList = %q", got)
	}
	for _, bad := range []string{"a", "-1", "3-1", "1,,2", "0-99999999"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
