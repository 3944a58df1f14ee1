package layer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// mountedUnder lists mount points at or below dir from /proc/self/mountinfo.
func mountedUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// mountFor mounts a rootfs and makes sure it is unmounted after the test,
// whatever happens.
func mountFor(t *testing.T, lowers []string, ctrDir string) string {
	t.Helper()
	t.Cleanup(func() { _ = RemoveRootfs(ctrDir) })
	rootfs, err := MountRootfs(lowers, ctrDir)
	if err != nil {
		t.Fatal(err)
	}
	return rootfs
}

// twoLayers unpacks a base layer (a, keep) and a layer on top that
// deletes a and adds b, and returns their dirs top first.
func twoLayers(t *testing.T, s *Store) []string {
	t.Helper()
	c0, _, err := s.Unpack("", bytes.NewReader(buildTar(t, file("a", "A"), file("keep", "K"))))
	if err != nil {
		t.Fatal(err)
	}
	c1, _, err := s.Unpack(c0, bytes.NewReader(buildTar(t, file(".wh.a", ""), file("b", "B"))))
	if err != nil {
		t.Fatal(err)
	}
	return []string{s.Dir(c1), s.Dir(c0)}
}

func TestMountRootfsIsolatesContainers(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	lowers := twoLayers(t, s)
	base := t.TempDir()
	c1, c2 := filepath.Join(base, "c1"), filepath.Join(base, "c2")
	r1 := mountFor(t, lowers, c1)
	r2 := mountFor(t, lowers, c2)

	for _, r := range []string{r1, r2} {
		if _, err := os.Stat(filepath.Join(r, "a")); !os.IsNotExist(err) {
			t.Fatalf("whited-out file a visible in %s: %v", r, err)
		}
		if b, _ := os.ReadFile(filepath.Join(r, "b")); string(b) != "B" {
			t.Fatalf("b = %q", b)
		}
	}
	if err := os.WriteFile(filepath.Join(r1, "mine"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r1, "keep"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r2, "mine")); !os.IsNotExist(err) {
		t.Fatal("c2 sees c1's new file")
	}
	if b, _ := os.ReadFile(filepath.Join(r2, "keep")); string(b) != "K" {
		t.Fatalf("c2 sees c1's change: keep = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(lowers[1], "keep")); string(b) != "K" {
		t.Fatal("the shared layer was modified")
	}

	// Mounting again is a no-op returning the same path.
	if again, err := MountRootfs(lowers, c1); err != nil || again != r1 || len(mountedUnder(t, c1)) != 1 {
		t.Fatalf("remount: %s, %v, mounts %v", again, err, mountedUnder(t, c1))
	}

	if err := UnmountRootfs(c1); err != nil {
		t.Fatal(err)
	}
	if m := mountedUnder(t, c1); len(m) != 0 {
		t.Fatalf("still mounted: %v", m)
	}
	if got := listTree(t, c1); strings.Join(got, " ") != "upper upper/keep upper/mine" {
		t.Fatalf("after unmount c1 holds %v, want only upper", got)
	}
	if err := UnmountRootfs(c1); err != nil {
		t.Fatalf("second unmount: %v", err)
	}
	// A restart reuses the upper dir: the container's data is back.
	r1 = mountFor(t, lowers, c1)
	if b, _ := os.ReadFile(filepath.Join(r1, "mine")); string(b) != "1" {
		t.Fatalf("upper data lost across remount: %q", b)
	}
	if err := RemoveRootfs(c1); err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, c1); len(got) != 0 || len(mountedUnder(t, c1)) != 0 {
		t.Fatalf("after RemoveRootfs: %v, mounts %v", got, mountedUnder(t, c1))
	}
}

func TestUnmountBusyDetaches(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	ctr := filepath.Join(t.TempDir(), "c")
	r := mountFor(t, twoLayers(t, s), ctr)
	// An open directory in the mount makes a plain unmount fail with EBUSY.
	if err := os.Mkdir(filepath.Join(r, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(r, "d"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := UnmountRootfs(ctr); err != nil {
		t.Fatal(err)
	}
	if m := mountedUnder(t, ctr); len(m) != 0 {
		t.Fatalf("still mounted: %v", m)
	}
}

func TestMountRootfsManyLayers(t *testing.T) {
	requireRoot(t)
	// A long root makes the plain option string exceed a page.
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 100), strings.Repeat("y", 100))
	s, err := Open(long)
	if err != nil {
		t.Fatal(err)
	}
	var parent digest.Digest
	var lowers []string
	for i := range 60 {
		parent, _, err = s.Unpack(parent, bytes.NewReader(buildTar(t, file(fmt.Sprintf("f%02d", i), "x"))))
		if err != nil {
			t.Fatal(err)
		}
		lowers = append([]string{s.Dir(parent)}, lowers...)
	}
	if n := len(overlayOptions(lowers, "u", "w", false)); n <= maxOptions {
		t.Fatalf("options only %d bytes: the test does not exercise the long form", n)
	}
	r := mountFor(t, lowers, filepath.Join(t.TempDir(), "c"))
	for _, f := range []string{"f00", "f59"} {
		if _, err := os.Stat(filepath.Join(r, f)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMountRootfsFailureCleansUp(t *testing.T) {
	requireRoot(t)
	ctr := filepath.Join(t.TempDir(), "c")
	t.Cleanup(func() { _ = RemoveRootfs(ctr) })
	if _, err := MountRootfs([]string{"/nonexistent-cocin-layer"}, ctr); err == nil {
		t.Fatal("mount over a missing layer succeeded")
	}
	if _, err := os.Stat(ctr); !os.IsNotExist(err) {
		t.Fatalf("ctrDir left behind: %v", listTree(t, ctr))
	}
	if _, err := MountRootfs(nil, ctr); err == nil {
		t.Fatal("mount without layers succeeded")
	}
}

func TestMountTransientRootfsIsVolatile(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	ctr := filepath.Join(t.TempDir(), "c")
	t.Cleanup(func() { _ = RemoveRootfs(ctr) })
	r, err := MountTransientRootfs(twoLayers(t, s), ctr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == r {
			line = l
		}
	}
	if !strings.Contains(line, "volatile") {
		t.Fatalf("mount of %s is not volatile: %q", r, line)
	}
	if err := UnmountRootfs(ctr); err != nil {
		t.Fatal(err)
	}
	// A volatile upper can be mounted again once work is gone.
	if _, err := MountTransientRootfs(twoLayers(t, s), ctr); err != nil {
		t.Fatal(err)
	}
}
