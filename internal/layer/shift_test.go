package layer

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

const shiftBase = 200000

var testShift = IDShift{
	Key: "test",
	UID: func(id uint32) uint32 { return shiftBase + id },
	GID: func(id uint32) uint32 { return shiftBase + id },
}

// capV2 is a v2 security.capability value granting cap_net_raw (13).
func capV2() string {
	b := make([]byte, capSizeV2)
	binary.LittleEndian.PutUint32(b, capRev2|1)
	binary.LittleEndian.PutUint32(b[4:], 1<<13)
	return string(b)
}

// shiftedLayer unpacks a layer with every kind of entry a shifted copy
// must keep and returns the store, its chain ID and the copy's dir.
func shiftedLayer(t *testing.T) (*Store, string, string) {
	t.Helper()
	requireRoot(t)
	s := openStore(t)
	suid := file("bin/su", "su")
	suid.hdr.Mode = 0o4755
	owned := file("home/u/f", "mine")
	owned.hdr.Uid, owned.hdr.Gid = 1000, 1001
	capped := file("bin/ping", "ping")
	capped.hdr.PAXRecords = map[string]string{paxXattr + capXattr: capV2()}
	fifo := tarEntry{hdr: file("run/fifo", "").hdr}
	fifo.hdr.Typeflag = '6'
	tb := buildTar(t, dir("bin"), suid, hardlink("bin/su2", "bin/su"), capped,
		dir("home"), dir("home/u"), owned, symlink("home/l", "u/f"),
		dir("opq"), file("opq/.wh..wh..opq", ""), file("home/.wh.gone", ""),
		dir("run"), fifo)
	chain, _, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.ShiftedDir(chain, testShift)
	if err != nil {
		t.Fatal(err)
	}
	return s, chain.String(), d
}

func TestShiftedDirOwnersAndModes(t *testing.T) {
	_, _, d := shiftedLayer(t)
	for p, want := range map[string][2]uint32{
		".": {shiftBase, shiftBase}, "bin/su": {shiftBase, shiftBase},
		"home/u/f": {shiftBase + 1000, shiftBase + 1001}, "home/l": {shiftBase, shiftBase},
		"home/gone": {shiftBase, shiftBase},
	} {
		if st := lstat(t, filepath.Join(d, p)); st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, want[0], want[1])
		}
	}
	if st := lstat(t, filepath.Join(d, "bin/su")); st.Mode&0o7777 != 0o4755 {
		t.Errorf("setuid bit lost by the chown: mode %o", st.Mode&0o7777)
	}
	if st := lstat(t, filepath.Join(d, "run/fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo copied as mode %o", st.Mode)
	}
	if l, err := os.Readlink(filepath.Join(d, "home/l")); err != nil || l != "u/f" {
		t.Errorf("symlink: %q %v", l, err)
	}
}

func TestShiftedDirKeepsOverlayMarks(t *testing.T) {
	_, _, d := shiftedLayer(t)
	st := lstat(t, filepath.Join(d, "home/gone"))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout is no longer a 0/0 character device: mode %o rdev %d", st.Mode, st.Rdev)
	}
	if v, err := getXattr(filepath.Join(d, "opq"), opaqueXattr); err != nil || string(v) != "y" {
		t.Errorf("opaque mark lost: %q %v", v, err)
	}
	a, b := lstat(t, filepath.Join(d, "bin/su")), lstat(t, filepath.Join(d, "bin/su2"))
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link not kept: inodes %d %d, links %d", a.Ino, b.Ino, a.Nlink)
	}
}

func TestShiftedDirFileCaps(t *testing.T) {
	_, _, d := shiftedLayer(t)
	v, err := getXattr(filepath.Join(d, "bin/ping"), capXattr)
	if err != nil {
		t.Fatalf("file capability lost (chown clears it): %v", err)
	}
	le := binary.LittleEndian
	if len(v) != capSizeV3 || le.Uint32(v)&capRevMask != capRev3 || le.Uint32(v[capSizeV2:]) != shiftBase {
		t.Errorf("want a v3 capability with root id %d, got % x", shiftBase, v)
	}
	if le.Uint32(v[4:]) != 1<<13 {
		t.Errorf("capability set changed: % x", v)
	}
}

func TestShiftedDirCachedAndRemovedWithLayer(t *testing.T) {
	s, chain, d := shiftedLayer(t)
	c := s.layerDirChain(t, chain)
	before := lstat(t, filepath.Join(d, "bin/su")).Ino
	d2, err := s.ShiftedDir(c, testShift)
	if err != nil || d2 != d {
		t.Fatalf("second call: %q %v, want %q", d2, err, d)
	}
	if lstat(t, filepath.Join(d2, "bin/su")).Ino != before {
		t.Error("the copy was made again instead of reused")
	}
	if ents, _ := os.ReadDir(s.tmpDir()); len(ents) != 0 {
		t.Errorf("temporary copies left behind: %v", ents)
	}
	if err := s.Remove(c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d); !os.IsNotExist(err) {
		t.Errorf("the shifted copy outlived its layer: %v", err)
	}
}

func (s *Store) layerDirChain(t *testing.T, chain string) digest.Digest {
	t.Helper()
	c, err := digest.Parse(chain)
	if err != nil || !s.Has(c) {
		t.Fatalf("layer %s: %v", chain, err)
	}
	return c
}
