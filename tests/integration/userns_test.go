package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of user namespaces beyond the mapping itself: bind-mounted host
// files, the shifted-copy fallback for kernels without idmapped mounts,
// its cache, and volumes. The remapped root is host uid 200000
// (usernsEnv).

const remapRoot = 200000

// noIDMap forces the shifted-copy fallback in e.
func noIDMap(e *engineEnv) *engineEnv {
	c := *e
	c.ExtraEnv = append(append([]string(nil), e.ExtraEnv...), "COCIN_USERNS_NO_IDMAP=1")
	return &c
}

// hostFile makes a host file with an owner and mode, in a directory the
// remapped root can reach.
func hostFile(t *testing.T, uid int, mode os.FileMode) string {
	t.Helper()
	dir := reachableTempDir(t)
	f := filepath.Join(dir, "host-file")
	if err := os.WriteFile(f, []byte("host\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(f, uid, uid); err != nil {
		t.Fatal(err)
	}
	return f
}

// reachableTempDir is a temporary directory the remapped root can walk
// into (t.TempDir's parent is 0700).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fileContent(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUsernsBindMountHostFile: the remapped root can neither write a
// host file a bind mount exposes read-only (even one it owns, mode 0666,
// so only the read-only mount stops it, and not by remounting it
// read-write) nor one exposed read-write that belongs to host root with
// mode 0644, which a container without a user namespace can write.
func TestUsernsBindMountHostFile(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	write := "echo pwned > /f"
	for _, env := range []*engineEnv{e, noIDMap(e)} {
		ro := hostFile(t, remapRoot, 0o666)
		r := env.run(t, "run", "--rm", "--userns-remap", "cocin", "-v", ro+":/f:ro", "busybox", "sh", "-c",
			"echo ran; "+write+" 2>/dev/null && exit 0; mount -o remount,rw,bind /f 2>/dev/null && "+write+" && exit 0; exit 1")
		if r.Code != 1 || r.Stdout != "ran\n" || fileContent(t, ro) != "host\n" {
			t.Errorf("the remapped root wrote a read-only bind-mounted file: %s", r)
		}
		rootOwned := hostFile(t, 0, 0o644)
		r = env.run(t, "run", "--rm", "--userns-remap", "cocin", "-v", rootOwned+":/f", "busybox", "sh", "-c",
			"ls -ln /f; "+write+" 2>/dev/null && exit 0; exit 1")
		if r.Code != 1 || fileContent(t, rootOwned) != "host\n" {
			t.Errorf("the remapped root wrote a host root's 0644 file: %s", r)
		}
		// Bind mounts keep their host owners: host root is nobody inside.
		if !strings.Contains(r.Stdout, " 65534 ") {
			t.Errorf("want the host root's file shown as owned by the overflow id 65534: %s", r)
		}
	}
	rootOwned := hostFile(t, 0, 0o644)
	if r := e.run(t, "run", "--rm", "-v", rootOwned+":/f", "busybox", "sh", "-c", write); r.Code != 0 || fileContent(t, rootOwned) != "pwned\n" {
		t.Errorf("without a user namespace root should write the file (else the test proves nothing): %s", r)
	}
}

// TestUsernsShiftedCopy: with idmapped mounts refused (forced), the
// rootfs comes from copies of the layers with owners shifted: the
// container's root owns its files, a setuid binary keeps its bit, the
// files it makes are the remapped root's on the host, and the copy is
// cached in the layer store and reused by the next container.
func TestUsernsShiftedCopy(t *testing.T) {
	t.Parallel()
	needSecImage(t)
	e := noIDMap(usernsEnv(t))
	e.mustRun(t, "import", filepath.Join(tmpBase, "sectest", "sectest.tar"), "sectest")
	start := time.Now()
	r := e.mustRun(t, "run", "--rm", "--userns-remap", "cocin", "sectest", "sh", "-c",
		"cat /proc/self/uid_map; ls -lnd / /etc/passwd /usr/local/bin/secprobe-suid; touch /etc/passwd && echo rw")
	cold := time.Since(start)
	f := strings.Fields(r.Stdout)
	if strings.Join(f[:3], " ") != "0 200000 65536" {
		t.Fatalf("want root mapped onto 200000: %s", r)
	}
	for _, l := range lines(r.Stdout)[1:4] {
		if fs := strings.Fields(l); fs[2] != "0" || fs[3] != "0" {
			t.Errorf("want the image's files owned by the container's root: %q", l)
		}
	}
	if !strings.Contains(r.Stdout, "-rwsr-xr-x") || !strings.Contains(r.Stdout, "rw") {
		t.Errorf("want the setuid bit kept and /etc/passwd writable by root: %s", r)
	}
	copies := shiftedCopies(t, e)
	if len(copies) == 0 {
		t.Fatalf("no shifted copy in the layer store")
	}
	before := inode(t, copies[0])
	start = time.Now()
	e.mustRun(t, "run", "--rm", "--userns-remap", "cocin", "sectest", "true")
	warm := time.Since(start)
	if after := shiftedCopies(t, e); len(after) != len(copies) || inode(t, after[0]) != before {
		t.Errorf("the second container did not reuse the cached copy: %v, then %v", copies, after)
	}
	t.Logf("shifted copy: first run %s (makes the copy), second run %s (reuses it)", cold, warm)
	name := uniqueName("shift")
	e.mustRun(t, "run", "--name", name, "--userns-remap", "cocin", "sectest", "touch", "/made")
	id := strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.Id}}", name).Stdout)
	if uid := ownerUID(t, filepath.Join(e.Root, "containers", id, "upper", "made")); uid != remapRoot {
		t.Errorf("want the container's file owned by host uid %d, got %d", remapRoot, uid)
	}
	// A restart mounts the same layers again.
	e.mustRun(t, "start", "-a", name)
	e.mustRun(t, "rm", name)
}

// TestUsernsShiftedCopyRemovedWithImage: removing the image frees its
// layers and their shifted copies.
func TestUsernsShiftedCopyRemovedWithImage(t *testing.T) {
	t.Parallel()
	e := noIDMap(usernsEnv(t))
	e.mustRun(t, "run", "--rm", "--userns-remap", "cocin", "busybox", "true")
	if len(shiftedCopies(t, e)) == 0 {
		t.Fatal("no shifted copy in the layer store")
	}
	e.mustRun(t, "rmi", "busybox")
	if c := shiftedCopies(t, e); len(c) != 0 {
		t.Errorf("shifted copies outlived the image: %v", c)
	}
}

// TestUsernsVolumes: a volume made for a remapped container belongs to
// its root (writable inside, uid 200000 on the host), whether it is
// filled from the image or empty; a bind-mounted directory keeps its
// host owner.
func TestUsernsVolumes(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	for i, env := range []*engineEnv{e, noIDMap(e)} {
		empty, filled := uniqueName("uvol"), uniqueName("uvol")
		r := env.mustRun(t, "run", "--rm", "--userns-remap", "cocin", "-v", empty+":/data", "-v", filled+":/etc",
			"busybox", "sh", "-c", "ls -lnd /data /etc/passwd | awk '{print $3}'; touch /data/new /etc/new && echo ok")
		if got := strings.Join(strings.Fields(r.Stdout), " "); got != "0 0 ok" {
			t.Errorf("run %d: want both volumes owned by the container's root and writable: %s", i, r)
		}
		for _, v := range []string{empty, filled} {
			if uid := ownerUID(t, filepath.Join(e.Root, "volumes", v, "_data", "new")); uid != remapRoot {
				t.Errorf("run %d: volume %s: file owned by host uid %d, want %d", i, v, uid, remapRoot)
			}
		}
		env.mustRun(t, "volume", "rm", empty, filled)
	}
	dir := reachableTempDir(t)
	r := e.run(t, "run", "--rm", "--userns-remap", "cocin", "-v", dir+":/b", "busybox", "sh", "-c", "ls -lnd /b | awk '{print $3}'; touch /b/x")
	if r.Code != 1 || r.Stdout != "65534\n" || ownerUID(t, dir) != 0 {
		t.Errorf("a bind-mounted host root's directory must keep its owner and stay read-only to the remapped root: %s", r)
	}
}

// shiftedCopies lists the shifted copies in e's layer store.
func shiftedCopies(t *testing.T, e *engineEnv) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.Root, "layers", "*", "shifted", "*", "diff"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func ownerUID(t *testing.T, p string) uint32 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Uid
}

// --privileged with a remapped user namespace is refused up front, as
// Docker refuses it; --userns-remap=host lifts the conflict.
func TestUsernsPrivilegedRefused(t *testing.T) {
	t.Parallel()
	e := usernsEnv(t)
	r := e.run(t, "run", "--rm", "--privileged", "--userns-remap", "cocin", "busybox", "true")
	expectEngineError(t, r)
	if !strings.Contains(r.Stderr, "privileged mode is incompatible with user namespaces") {
		t.Errorf("want Docker's reason: %s", r)
	}
	e.mustRun(t, "run", "--rm", "--privileged", "--userns-remap", "host", "busybox", "true")
}
