package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runDevFilter interprets the small eBPF subset deviceFilter emits, the way
// the kernel runs it for one device access, and returns the verdict.
func runDevFilter(t *testing.T, prog []bpfInsn, typ, major, minor, access uint32) bool {
	t.Helper()
	ctx := [3]uint32{access<<16 | typ, major, minor}
	var reg [11]uint64
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		dst, src := in.Regs&0x0f, in.Regs>>4
		if bigEndian {
			dst, src = in.Regs>>4, in.Regs&0x0f
		}
		jump := func(cond bool) {
			if cond {
				pc += int(in.Off)
			}
		}
		switch in.Code {
		case opLdxW:
			if src != 1 || in.Off%4 != 0 || in.Off > 8 {
				t.Fatalf("insn %d: load outside the context", pc)
			}
			reg[dst] = uint64(ctx[in.Off/4])
		case opAnd32K:
			reg[dst] = uint64(uint32(reg[dst]) & uint32(in.Imm))
		case opRsh32K:
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(in.Imm))
		case opMov32X:
			reg[dst] = uint64(uint32(reg[src]))
		case opMov64K:
			reg[dst] = uint64(int64(in.Imm))
		case opJeqK:
			jump(reg[dst] == uint64(int64(in.Imm)))
		case opJneK:
			jump(reg[dst] != uint64(int64(in.Imm)))
		case opJneX:
			jump(reg[dst] != reg[src])
		case opExit:
			return reg[0] == 1
		default:
			t.Fatalf("insn %d: unknown opcode %#x", pc, in.Code)
		}
	}
	t.Fatal("program fell off its end")
	return false
}

func rules(t *testing.T, ds ...specs.LinuxDeviceCgroup) []devRule {
	t.Helper()
	var rs []devRule
	for _, d := range ds {
		r, err := deviceRule(d)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestDeviceFilterSemantics(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	docker := rules(t,
		denyAll,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(1), Minor: i(3), Access: "rwm"},  // /dev/null
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(136), Minor: nil, Access: "rwm"}, // /dev/pts/*
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(10), Minor: i(200), Access: "r"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i(8), Minor: i(0), Access: "m"},
	)
	cases := []struct {
		name                      string
		rules                     []devRule
		typ, major, minor, access uint32
		want                      bool
	}{
		{"null rw", docker, devChar, 1, 3, accRead | accWrite, true},
		{"null mknod", docker, devChar, 1, 3, accMknod, true},
		{"zero", docker, devChar, 1, 5, accRead, false},
		{"pts any minor", docker, devChar, 136, 7, accWrite, true},
		{"tun read only", docker, devChar, 10, 200, accRead, true},
		{"tun write", docker, devChar, 10, 200, accWrite, false},
		{"tun rw needs both", docker, devChar, 10, 200, accRead | accWrite, false},
		{"sda mknod", docker, devBlock, 8, 0, accMknod, true},
		{"sda read", docker, devBlock, 8, 0, accRead, false},
		{"char 8:0 is not block 8:0", docker, devChar, 8, 0, accMknod, false},
		{"no rule matches: allowed as in a fresh v1 cgroup",
			rules(t, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i(1), Minor: i(5), Access: "w"}), devChar, 1, 3, accRead, true},
		{"deny write blocks read+write",
			rules(t, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i(1), Minor: i(5), Access: "w"}), devChar, 1, 5, accRead | accWrite, false},
		{"deny write keeps read",
			rules(t, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i(1), Minor: i(5), Access: "w"}), devChar, 1, 5, accRead, true},
		{"last rule wins",
			rules(t, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(1), Minor: i(5)}, denyAll), devChar, 1, 5, accRead, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prog := deviceFilter(tc.rules)
			if got := runDevFilter(t, prog, tc.typ, tc.major, tc.minor, tc.access); got != tc.want {
				t.Errorf("verdict %v, want %v", got, tc.want)
			}
		})
	}
}

// A rule matching everything ends the program: the kernel's verifier
// rejects unreachable instructions.
func TestDeviceFilterNoUnreachableCode(t *testing.T) {
	prog := deviceFilter(rules(t, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "r"}, specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}))
	// prelude (6) + mov r0 + exit
	if len(prog) != 8 || prog[7].Code != opExit {
		t.Errorf("program has %d instructions, want 8 ending in exit", len(prog))
	}
}

func TestDeviceRuleV1String(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	cases := map[string]specs.LinuxDeviceCgroup{
		"a *:* rwm":  {Access: "rwm"},
		"c 1:3 rwm":  {Type: "c", Major: i(1), Minor: i(3)},
		"c 136:* rw": {Type: "c", Major: i(136), Access: "wr"},
		"b *:* m":    {Type: "b", Major: i(-1), Access: "m"},
	}
	for want, d := range cases {
		r, err := deviceRule(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.v1String(); got != want {
			t.Errorf("%+v → %q, want %q", d, got, want)
		}
	}
}
