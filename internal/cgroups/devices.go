package cgroups

import (
	"fmt"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Access and type bits of struct bpf_cgroup_dev_ctx (linux/bpf.h). v1 rules
// are written as text; the bits are used for both to share validation.
const (
	accMknod = 1 // BPF_DEVCG_ACC_MKNOD
	accRead  = 2 // BPF_DEVCG_ACC_READ
	accWrite = 4 // BPF_DEVCG_ACC_WRITE
	accAll   = accMknod | accRead | accWrite

	devBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devChar  = 2 // BPF_DEVCG_DEV_CHAR
)

// devRule is one validated device cgroup rule; -1 is a wildcard number.
type devRule struct {
	allow        bool
	typ          byte // 'a', 'b' or 'c'
	major, minor int64
	access       uint8
}

// deviceRule validates a spec rule: type "" means all, access "" means
// "rwm", a nil or -1 number matches any.
func deviceRule(d specs.LinuxDeviceCgroup) (devRule, error) {
	r := devRule{allow: d.Allow, major: -1, minor: -1}
	switch d.Type {
	case "", "a":
		r.typ = 'a'
	case "b", "c":
		r.typ = d.Type[0]
	default:
		return r, fmt.Errorf("invalid device type %q (a, b or c)", d.Type)
	}
	for _, ch := range d.Access {
		switch ch {
		case 'r':
			r.access |= accRead
		case 'w':
			r.access |= accWrite
		case 'm':
			r.access |= accMknod
		default:
			return r, fmt.Errorf("invalid device access %q (a subset of rwm)", d.Access)
		}
	}
	if r.access == 0 {
		r.access = accAll
	}
	if r.typ == 'a' {
		return r, nil // the kernel ignores numbers on "a" rules
	}
	var err error
	if r.major, err = devNumber("major", d.Major); err != nil {
		return r, err
	}
	r.minor, err = devNumber("minor", d.Minor)
	return r, err
}

func devNumber(what string, p *int64) (int64, error) {
	switch {
	case p == nil || *p == -1:
		return -1, nil
	case *p < 0 || *p > 1<<31-1:
		return 0, fmt.Errorf("invalid device %s number %d", what, *p)
	}
	return *p, nil
}

// v1String is the devices.allow/deny syntax: "c 1:3 rwm", "a *:* rwm".
func (r devRule) v1String() string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return itoa(n)
	}
	var acc strings.Builder
	for _, a := range []struct {
		bit uint8
		ch  byte
	}{{accRead, 'r'}, {accWrite, 'w'}, {accMknod, 'm'}} {
		if r.access&a.bit != 0 {
			acc.WriteByte(a.ch)
		}
	}
	return fmt.Sprintf("%c %s:%s %s", r.typ, num(r.major), num(r.minor), acc.String())
}

// bpfInsn is struct bpf_insn: opcode, dst/src register nibbles, offset,
// immediate.
type bpfInsn struct {
	Code uint8
	Regs uint8
	Off  int16
	Imm  int32
}

// eBPF opcodes used by the device filter.
const (
	opLdxW   = 0x61 // dst = *(u32 *)(src + off)
	opAnd32K = 0x54 // w(dst) &= imm
	opRsh32K = 0x74 // w(dst) >>= imm
	opMov32X = 0xbc // w(dst) = w(src)
	opMov64K = 0xb7 // dst = imm
	opJeqK   = 0x15 // if dst == imm goto +off
	opJneK   = 0x55 // if dst != imm goto +off
	opJneX   = 0x5d // if dst != src goto +off
	opExit   = 0x95
)

// Registers: R1 is the context on entry, then scratch; R2..R5 hold the
// request's type, access, major and minor.
const (
	rRet, rTmp, rType, rAccess, rMajor, rMinor = 0, 1, 2, 3, 4, 5
)

var bigEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 0 }()

func insn(code, dst, src uint8, off int16, imm int32) bpfInsn {
	regs := src<<4 | dst // C bit-fields: dst_reg is the low nibble on little endian
	if bigEndian {
		regs = dst<<4 | src
	}
	return bpfInsn{Code: code, Regs: regs, Off: off, Imm: imm}
}

// deviceFilter compiles rules to a BPF_PROG_TYPE_CGROUP_DEVICE program with
// v1's "last matching rule wins" semantics: rules are tested from the last
// to the first, and a request no rule matches is allowed, as in a fresh v1
// devices cgroup ("a *:* rwm"). Docker's lists begin with "deny all", so
// everything not allowed later is denied.
func deviceFilter(rules []devRule) []bpfInsn {
	prog := []bpfInsn{
		// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
		insn(opLdxW, rType, 1, 0, 0),
		insn(opAnd32K, rType, 0, 0, 0xffff), // type in the low 16 bits
		insn(opLdxW, rAccess, 1, 0, 0),
		insn(opRsh32K, rAccess, 0, 0, 16), // access in the high 16 bits
		insn(opLdxW, rMajor, 1, 4, 0),
		insn(opLdxW, rMinor, 1, 8, 0),
	}
	for i := len(rules) - 1; i >= 0; i-- {
		block, always := ruleBlock(rules[i])
		prog = append(prog, block...)
		if always {
			// The verifier rejects unreachable code: nothing may follow.
			return prog
		}
	}
	return append(prog, insn(opMov64K, rRet, 0, 0, 1), insn(opExit, 0, 0, 0, 0))
}

// ruleBlock returns "if the request matches, return allow/deny" and
// whether it matches every request (it has no condition).
func ruleBlock(r devRule) (block []bpfInsn, always bool) {
	const next = -1 // patched below: jump past the end of this block
	if r.typ != 'a' {
		typ := map[byte]int32{'b': devBlock, 'c': devChar}[r.typ]
		block = append(block, insn(opJneK, rType, 0, next, typ))
	}
	if r.access != accAll {
		block = append(block,
			insn(opMov32X, rTmp, rAccess, 0, 0),
			insn(opAnd32K, rTmp, 0, 0, int32(r.access)))
		if r.allow {
			// allow only if every requested access is granted
			block = append(block, insn(opJneX, rTmp, rAccess, next, 0))
		} else {
			// deny if any requested access is denied
			block = append(block, insn(opJeqK, rTmp, 0, next, 0))
		}
	}
	if r.major >= 0 {
		block = append(block, insn(opJneK, rMajor, 0, next, int32(r.major)))
	}
	if r.minor >= 0 {
		block = append(block, insn(opJneK, rMinor, 0, next, int32(r.minor)))
	}
	always = len(block) == 0
	ret := int32(0)
	if r.allow {
		ret = 1
	}
	block = append(block, insn(opMov64K, rRet, 0, 0, ret), insn(opExit, 0, 0, 0, 0))
	for i := range block {
		if block[i].Code&0x07 == 0x05 && block[i].Off == next { // BPF_JMP class
			block[i].Off = int16(len(block) - i - 1)
		}
	}
	return block, always
}
