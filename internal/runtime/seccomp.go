package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The parent compiles a spec's seccomp section to classic BPF with
// libseccomp and hands the program to the init, which only installs it.
// So the init never links against or initialises libseccomp on the start
// path, and a profile compiled once is reused from a cache keyed by its
// content.

// SeccompProgram is a compiled filter: the raw sock_filter array and the
// flags for seccomp(2).
type SeccompProgram struct {
	BPF   []byte `json:"bpf"`
	Flags uint   `json:"flags,omitempty"`
}

var seccompMem sync.Map // sha256 of the profile -> *SeccompProgram

// CompileSeccomp returns the BPF program of a profile. cacheDir, when not
// empty, keeps compiled programs across processes. A nil profile gives nil.
func CompileSeccomp(s *specs.LinuxSeccomp, cacheDir string) (*SeccompProgram, error) {
	if s == nil {
		return nil, nil
	}
	flags, err := seccompFlags(s.Flags)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	// The library's version is part of the key: another libseccomp may
	// compile the same profile differently.
	maj, mnr, mic := libseccomp.GetLibraryVersion()
	raw = fmt.Appendf(raw, "\x00libseccomp %d.%d.%d", maj, mnr, mic)
	sum := sha256.Sum256(raw)
	key := hex.EncodeToString(sum[:])
	if p, ok := seccompMem.Load(key); ok {
		return p.(*SeccompProgram), nil
	}
	cacheFile := ""
	if cacheDir != "" {
		cacheFile = filepath.Join(cacheDir, key+".bpf")
		if b, err := os.ReadFile(cacheFile); err == nil && len(b) > 0 && len(b)%8 == 0 {
			p := &SeccompProgram{BPF: b, Flags: flags}
			seccompMem.Store(key, p)
			return p, nil
		}
	}
	bpf, err := buildSeccomp(s)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	p := &SeccompProgram{BPF: bpf, Flags: flags}
	seccompMem.Store(key, p)
	if cacheFile != "" {
		// A cache that cannot be written only costs the next start a compile.
		if os.MkdirAll(cacheDir, 0o700) == nil {
			tmp := cacheFile + ".tmp" + fmt.Sprint(os.Getpid())
			if os.WriteFile(tmp, bpf, 0o600) == nil {
				_ = os.Rename(tmp, cacheFile)
			}
			_ = os.Remove(tmp)
		}
	}
	return p, nil
}

func seccompFlags(names []specs.LinuxSeccompFlag) (uint, error) {
	var flags uint
	for _, f := range names {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			flags |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		default:
			return 0, fmt.Errorf("seccomp flag %q is not supported", f)
		}
	}
	return flags, nil
}

func buildSeccomp(s *specs.LinuxSeccomp) ([]byte, error) {
	if s.ListenerPath != "" {
		return nil, errors.New("seccomp notify listeners are not supported")
	}
	def, err := seccompAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	for _, a := range s.Architectures {
		arch, err := libseccomp.GetArchFromString(strings.TrimPrefix(string(a), "SCMP_ARCH_"))
		if err != nil {
			return nil, fmt.Errorf("architecture %s: %w", a, err)
		}
		if err := f.AddArch(arch); err != nil {
			return nil, fmt.Errorf("architecture %s: %w", a, err)
		}
	}
	for _, sc := range s.Syscalls {
		if err := addSyscallRule(f, sc, def); err != nil {
			return nil, err
		}
	}
	return exportBPF(f)
}

// exportBPF reads the program back through a memfd: ExportBPFMem needs
// libseccomp 2.6, Debian 12 has 2.5.
func exportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("cocin-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	mf := os.NewFile(uintptr(fd), "cocin-seccomp")
	defer mf.Close()
	if err := f.ExportBPF(mf); err != nil {
		return nil, err
	}
	if _, err := mf.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(mf)
}

// addSyscallRule adds one rule per name. Names this libseccomp does not
// know are skipped, as runc does: a profile lists syscalls of every kernel.
func addSyscallRule(f *libseccomp.ScmpFilter, sc specs.LinuxSyscall, def libseccomp.ScmpAction) error {
	act, err := seccompAction(sc.Action, sc.ErrnoRet)
	if err != nil {
		return err
	}
	if act == def {
		return nil // libseccomp refuses rules that repeat the default
	}
	conds, split, err := seccompConditions(sc.Args)
	if err != nil {
		return err
	}
	for _, name := range sc.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue
		}
		switch {
		case len(conds) == 0:
			err = f.AddRule(nr, act)
		case split:
			// Conditions on the same argument are alternatives: libseccomp
			// takes them as separate rules.
			for _, c := range conds {
				if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = f.AddRuleConditional(nr, act, conds)
		}
		if err != nil {
			return fmt.Errorf("rule for %s: %w", name, err)
		}
	}
	return nil
}

var seccompOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

func seccompConditions(args []specs.LinuxSeccompArg) ([]libseccomp.ScmpCondition, bool, error) {
	var out []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	split := false
	for _, a := range args {
		op, ok := seccompOps[a.Op]
		if !ok {
			return nil, false, fmt.Errorf("unknown seccomp operator %q", a.Op)
		}
		vals := []uint64{a.Value}
		if op == libseccomp.CompareMaskedEqual {
			vals = []uint64{a.Value, a.ValueTwo}
		}
		c, err := libseccomp.MakeCondition(a.Index, op, vals...)
		if err != nil {
			return nil, false, err
		}
		split = split || seen[a.Index]
		seen[a.Index] = true
		out = append(out, c)
	}
	return out, split, nil
}

func seccompAction(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		code := int16(unix.EPERM)
		if errnoRet != nil {
			code = int16(*errnoRet)
		}
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case specs.ActTrace:
		code := int16(unix.EPERM)
		if errnoRet != nil {
			code = int16(*errnoRet)
		}
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported seccomp action %q", a)
}

// seccompProgram compiles the spec's filter before the init is cloned, so
// that a bad profile fails create with nothing started.
func (r *Runtime) seccompProgram(ctx context.Context, spec *specs.Spec) (*SeccompProgram, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	_, end := trace.Step(ctx, "seccomp (compile or cache)")
	defer end()
	return CompileSeccomp(spec.Linux.Seccomp, r.SeccompCache)
}

// SeccompFeatures is what `features` reports of the seccomp support: the
// actions seccompAction translates, the operators of seccompOps, and the
// architectures the linked libseccomp knows.
func SeccompFeatures() *features.Seccomp {
	yes := true
	actions := []string{string(specs.ActKill), string(specs.ActKillThread), string(specs.ActKillProcess), string(specs.ActTrap),
		string(specs.ActErrno), string(specs.ActTrace), string(specs.ActAllow), string(specs.ActLog)}
	var ops []string
	for op := range seccompOps {
		ops = append(ops, string(op))
	}
	sort.Strings(ops)
	var archs []string
	for _, a := range []string{"x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel", "mipsel64",
		"mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "riscv64"} {
		if _, err := libseccomp.GetArchFromString(a); err == nil {
			archs = append(archs, "SCMP_ARCH_"+strings.ToUpper(a))
		}
	}
	return &features.Seccomp{Enabled: &yes, Actions: actions, Operators: ops, Archs: archs}
}
