package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteDiffOverlayToOCI: an upper dir in overlay's format (0/0 char
// device whiteouts, opaque xattr) comes out in OCI's (.wh. entries), and
// unpacking that tar gives back the same overlay form.
func TestWriteDiffOverlayToOCI(t *testing.T) {
	requireRoot(t)
	upper := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(upper, "etc", "new"), []byte("n"), 0o644))
	must(os.Link(filepath.Join(upper, "etc", "new"), filepath.Join(upper, "etc", "hard")))
	must(unix.Mknod(filepath.Join(upper, "etc", "gone"), unix.S_IFCHR, 0))
	must(os.Mkdir(filepath.Join(upper, "opq"), 0o755))
	if err := unix.Setxattr(filepath.Join(upper, "opq"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("no trusted xattrs here: %v", err)
	}
	must(unix.Mknod(filepath.Join(upper, "sda"), unix.S_IFBLK|0o600, int(unix.Mkdev(8, 0))))
	must(os.Symlink("/etc/new", filepath.Join(upper, "link")))

	var buf bytes.Buffer
	must(WriteDiff(&buf, upper))
	got := map[string]byte{}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		got[hdr.Name] = hdr.Typeflag
	}
	want := map[string]byte{"etc/": tar.TypeDir, "etc/hard": tar.TypeReg, "etc/new": tar.TypeLink, // walk order: hard first
		"etc/.wh.gone": tar.TypeReg, "opq/": tar.TypeDir, "opq/.wh..wh..opq": tar.TypeReg, "link": tar.TypeSymlink}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", keys(got), keys(want))
	}
	for n, typ := range want {
		if got[n] != typ {
			t.Errorf("%s: type %q, want %q (all: %v)", n, got[n], typ, keys(got))
		}
	}

	s := openStore(t)
	chain, _, err := s.Unpack("", bytes.NewReader(buf.Bytes()))
	must(err)
	var st unix.Stat_t
	must(unix.Lstat(filepath.Join(s.Dir(chain), "etc", "gone"), &st))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout did not round-trip: mode %o rdev %d", st.Mode, st.Rdev)
	}
	b := make([]byte, 1)
	if n, err := unix.Lgetxattr(filepath.Join(s.Dir(chain), "opq"), "trusted.overlay.opaque", b); err != nil || n != 1 || b[0] != 'y' {
		t.Errorf("opaque marker did not round-trip: %v", err)
	}
}

func keys(m map[string]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
