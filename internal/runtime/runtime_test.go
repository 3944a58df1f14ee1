package runtime

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testCgroupParent = "cocin-rt-test"

func TestMain(m *testing.M) {
	// The test binary is also the container init, as cocin is.
	if os.Args[0] == InitArg0 {
		InitMain()
		return
	}
	code := m.Run()
	_ = cgroups.RemoveParent(testCgroupParent)
	os.Exit(code)
}

// busyboxRoot builds a minimal rootfs from the host's busybox-static.
func busyboxRoot(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755)
	for _, a := range []string{"sh", "echo", "cat", "ls", "id", "hostname", "ps", "sleep", "true"} {
		os.Symlink("busybox", filepath.Join(root, "bin", a))
	}
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	return root
}

func testSpec(root string, args ...string) *specs.Spec {
	return &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: root},
		Hostname: "rt-test",
		Process: &specs.Process{
			Args: args, Cwd: "/", Env: []string{"PATH=/bin"},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"},
			},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro", "nosuid", "nodev", "noexec"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.CgroupNamespace},
			},
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys"},
		},
	}
}

func runContainer(t *testing.T, spec *specs.Spec) (string, int) {
	t.Helper()
	rt := &Runtime{Root: t.TempDir(), DefaultCgroupParent: testCgroupParent}
	id := state.NewID()[:16]
	var out bytes.Buffer
	r, w, _ := os.Pipe()
	c, err := rt.Create(context.Background(), CreateOpts{ID: id, Spec: spec, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("create: %v", err)
	}
	defer rt.Delete(id, true)
	done := make(chan struct{})
	go func() { out.ReadFrom(r); close(done) }()
	if err := rt.Start(id); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := c.Started(); err != nil {
		t.Fatalf("started: %v", err)
	}
	code, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	<-done
	return out.String(), code
}

func TestRunEcho(t *testing.T) {
	root := busyboxRoot(t)
	out, code := runContainer(t, testSpec(root, "sh", "-c", "echo hi $$ $(hostname); ls /proc/self/fd; cat /proc/kcore | wc -c; exit 3"))
	if code != 3 {
		t.Fatalf("exit code %d, output %q", code, out)
	}
	if !strings.HasPrefix(out, "hi 1 rt-test\n") {
		t.Fatalf("output %q", out)
	}
	t.Logf("%s", out)
}

func TestNotFound(t *testing.T) {
	root := busyboxRoot(t)
	rt := &Runtime{Root: t.TempDir(), DefaultCgroupParent: testCgroupParent}
	_, err := rt.Create(context.Background(), CreateOpts{ID: "nf", Spec: testSpec(root, "nonexistent")})
	ie, ok := err.(*InitError)
	if !ok || ie.Code != 127 {
		t.Fatalf("want InitError 127, got %#v", err)
	}
	if ents, _ := os.ReadDir(rt.Root); len(ents) != 0 {
		t.Fatalf("state left behind: %v", ents)
	}
}
