package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cocin-dev/cocin/internal/state"
	"golang.org/x/sys/unix"
)

// testView builds a container root and a volume source side by side:
//
//	rootfs: /etc/passwd, /vol (mount point, with a file hidden under it),
//	        /l -> /vol, /rel -> vol, /data -> /etc, /esc -> ../../../..,
//	        /loop -> /loop, /tmpl -> /t
//	volume: /f, /up -> ../etc, /abs -> /etc, /deep -> ../../../../etc
func testView(t *testing.T) (containerView, string, string) {
	t.Helper()
	base := t.TempDir()
	rootfs, vol := filepath.Join(base, "rootfs"), filepath.Join(base, "vol")
	for _, d := range []string{rootfs + "/etc", rootfs + "/vol", rootfs + "/t", vol} {
		mustMkdir(t, d)
	}
	mustWrite(t, rootfs+"/etc/passwd")
	mustWrite(t, rootfs+"/vol/hidden")
	mustWrite(t, vol+"/f")
	links := map[string]string{
		rootfs + "/l": "/vol", rootfs + "/rel": "vol", rootfs + "/data": "/etc",
		rootfs + "/esc": "../../../..", rootfs + "/loop": "/loop", rootfs + "/tmpl": "/t",
		vol + "/up": "../etc", vol + "/abs": "/etc", vol + "/deep": "../../../../etc",
	}
	for name, target := range links {
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	v := containerView{rootfs: rootfs, mounts: []state.Mount{
		{Type: "volume", Source: vol, Destination: "/vol", RW: true},
		{Type: "tmpfs", Destination: "/t", RW: true},
	}}
	return v, rootfs, vol
}

func mustMkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, f string) {
	t.Helper()
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestContainerViewLocate(t *testing.T) {
	v, rootfs, vol := testView(t)
	cases := []struct {
		path       string
		follow     bool
		root, rel  string
		mountpoint string // "" for the container's root
	}{
		{"/etc/passwd", false, rootfs, "/etc/passwd", ""},
		{"/vol/f", false, vol, "/f", "/vol"},
		{"/l", false, rootfs, "/l", ""}, // the link itself
		{"/l", true, vol, "/", "/vol"},
		{"/l/f", false, vol, "/f", "/vol"},       // through a link into the volume
		{"/rel/new", false, vol, "/new", "/vol"}, // a relative link, a missing file
		{"/data", true, rootfs, "/etc", ""},
		{"/data/passwd", false, rootfs, "/etc/passwd", ""},
		{"/vol/up/passwd", false, rootfs, "/etc/passwd", ""},  // ".." out of the volume: its mount point's parent
		{"/vol/abs/passwd", false, rootfs, "/etc/passwd", ""}, // absolute: the container's root
		{"/vol/deep/passwd", false, rootfs, "/etc/passwd", ""},
		{"/esc/etc/passwd", false, rootfs, "/etc/passwd", ""}, // never above the root
		{"/../../etc", false, rootfs, "/etc", ""},
		{"/vol/../l/f", false, vol, "/f", "/vol"},
		{"/missing/x/../y", false, rootfs, "/missing/y", ""},
	}
	for _, c := range cases {
		tree, rel, m, err := v.locate(c.path, c.follow)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		dest := ""
		if m != nil {
			dest = m.Destination
		}
		if tree.root != c.root || rel != c.rel || dest != c.mountpoint {
			t.Errorf("%s (follow %v): got %s %s in mount %q, want %s %s in %q",
				c.path, c.follow, tree.root, rel, dest, c.root, c.rel, c.mountpoint)
		}
	}
}

func TestContainerViewLocateErrors(t *testing.T) {
	v, _, _ := testView(t)
	if _, _, _, err := v.locate("/loop/x", false); !errors.Is(err, unix.ELOOP) {
		t.Errorf("a symlink loop: want ELOOP, got %v", err)
	}
	for _, p := range []string{"/t/f", "/tmpl/f", "/t"} {
		if _, _, _, err := v.locate(p, true); !errors.Is(err, errTmpfs) {
			t.Errorf("%s on a tmpfs: want errTmpfs, got %v", p, err)
		}
	}
}

// A mount whose destination crosses an image symlink is where the runtime
// put it: at the link's target.
func TestViewOfResolvesDestinations(t *testing.T) {
	_, rootfs, vol := testView(t)
	c := &state.Container{Mounts: []state.Mount{
		{Type: "tmpfs", Destination: "/t"},
		{Type: "volume", Source: vol, Destination: "/data", RW: true},
	}}
	v := viewOf(c, rootfs)
	for _, p := range []string{"/etc/f", "/data/f"} {
		tree, rel, m, err := v.locate(p, false)
		if err != nil || tree.root != vol || rel != "/f" || m.Destination != "/etc" {
			t.Errorf("%s: want the volume mounted at /etc, got %s %s %v %v", p, tree.root, rel, m, err)
		}
	}
}

func TestTrailing(t *testing.T) {
	for p, want := range map[string]string{"/a/.": "/.", ".": "/.", "/a/": "/", "/": "/", "/a": "", "a.": ""} {
		if got := trailing(p); got != want {
			t.Errorf("trailing(%q) = %q, want %q", p, got, want)
		}
	}
}
