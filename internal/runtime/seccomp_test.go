package runtime

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func defaultProfile(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}}}
	p, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompileSeccompCaches(t *testing.T) {
	dir := t.TempDir()
	p, err := CompileSeccomp(defaultProfile(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.BPF) < 8*100 || len(p.BPF)%8 != 0 {
		t.Fatalf("implausible program of %d bytes", len(p.BPF))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(files) != 1 {
		t.Fatalf("want one cached program, got %v", files)
	}
	if b, _ := os.ReadFile(files[0]); string(b) != string(p.BPF) {
		t.Error("the cached program differs from the compiled one")
	}
}

func TestCompileSeccompRefuses(t *testing.T) {
	bad := []*specs.LinuxSeccomp{
		{DefaultAction: "SCMP_ACT_NOPE"},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_NOPE"}}}}},
		{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_PDP11"}},
		{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"},
		{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}},
	}
	for _, b := range bad {
		if _, err := CompileSeccomp(b, ""); err == nil {
			t.Errorf("%+v: want an error", b)
		}
	}
}

// TestInstallSeccomp installs a filter in a child process (the test binary
// again) and checks that it refuses what it should.
func TestInstallSeccomp(t *testing.T) {
	if os.Getenv("COCIN_SECCOMP_CHILD") == "1" {
		seccompChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstallSeccomp$")
	cmd.Env = append(os.Environ(), "COCIN_SECCOMP_CHILD=1", "COCIN_SECCOMP_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func seccompChild() {
	goruntime.LockOSThread()
	prof := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: ptrUint(uint(unix.EXDEV))},
	}}
	p, err := CompileSeccomp(prof, "")
	if err == nil {
		if err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err == nil {
			err = InstallSeccomp(p)
		}
	}
	if err != nil {
		panic(err)
	}
	err = unix.Mkdir(filepath.Join(os.Getenv("COCIN_SECCOMP_DIR"), "x"), 0o755)
	if !errors.Is(err, unix.EXDEV) {
		panic("mkdir under the filter: want EXDEV, got " + errString(err))
	}
}

func ptrUint(v uint) *uint { return &v }

func errString(err error) string {
	if err == nil {
		return "success"
	}
	return err.Error()
}

func BenchmarkCompileSeccompDefault(b *testing.B) {
	prof := defaultProfile(b)
	for b.Loop() {
		if _, err := buildSeccomp(prof); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileSeccompCached is the start path's cost once the program
// is on disk: hash the profile, read the file.
func BenchmarkCompileSeccompCached(b *testing.B) {
	prof, dir := defaultProfile(b), b.TempDir()
	if _, err := CompileSeccomp(prof, dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		seccompMem.Clear()
		if _, err := CompileSeccomp(prof, dir); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSeccompFeatures(t *testing.T) {
	f := SeccompFeatures()
	if f.Enabled == nil || !*f.Enabled || !slices.Contains(f.Actions, "SCMP_ACT_ERRNO") ||
		!slices.Contains(f.Operators, "SCMP_CMP_MASKED_EQ") || !slices.Contains(f.Archs, "SCMP_ARCH_X86_64") {
		t.Errorf("seccomp features: %+v", f)
	}
}
