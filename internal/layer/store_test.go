package layer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestChainID(t *testing.T) {
	d0 := digest.FromString("layer0")
	d1 := digest.FromString("layer1")
	d2 := digest.FromString("layer2")
	if got := ChainID("", d0); got != d0 {
		t.Fatalf("ChainID of a bottom layer = %s, want its diff ID %s", got, d0)
	}
	c1 := digest.FromString(d0.String() + " " + d1.String())
	c2 := digest.FromString(c1.String() + " " + d2.String())
	got := ChainIDs([]digest.Digest{d0, d1, d2})
	want := []digest.Digest{d0, c1, c2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ChainIDs[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if len(ChainIDs(nil)) != 0 {
		t.Fatal("ChainIDs(nil) not empty")
	}
}

func TestUnpackRecordsLayer(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	tb := buildTar(t, dir("etc/"), file("etc/hostname", "box\n"), file("hello", "hi"))
	chain, size, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.FromBytes(tb); chain != want {
		t.Fatalf("chain ID %s, want the tar's sha256 %s", chain, want)
	}
	if size != int64(len("box\n")+len("hi")) {
		t.Fatalf("size %d", size)
	}
	if !s.Has(chain) {
		t.Fatal("Has = false after Unpack")
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(chain), "etc/hostname"))
	if err != nil || string(b) != "box\n" {
		t.Fatalf("etc/hostname = %q, %v", b, err)
	}
	info, err := s.Get(chain)
	if err != nil || info.DiffID != chain || info.Size != size || info.Parent != "" {
		t.Fatalf("Get = %+v, %v", info, err)
	}

	// A second layer on top: keyed by chain ID, parent recorded.
	tb2 := buildTar(t, file("two", "2"))
	chain2, _, err := s.Unpack(chain, bytes.NewReader(tb2))
	if err != nil {
		t.Fatal(err)
	}
	if want := ChainID(chain, digest.FromBytes(tb2)); chain2 != want {
		t.Fatalf("chain2 %s, want %s", chain2, want)
	}
	if _, _, err := s.Unpack(digest.FromString("nope"), bytes.NewReader(tb2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unpack on a missing parent: %v", err)
	}
}

func TestUnpackSameLayerTwiceKeepsOne(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	tb := buildTar(t, file("a", "1"))
	c1, _, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(s.Dir(c1), "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c2, _, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil || c2 != c1 {
		t.Fatalf("second unpack: %s, %v", c2, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the existing layer was replaced")
	}
	if ents, _ := os.ReadDir(s.tmpDir()); len(ents) != 0 {
		t.Fatalf("tmp not empty: %v", ents)
	}
}

func TestUnpackFailureLeavesNothing(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	tb := buildTar(t, file("ok", "1"), file("../../bad", "x"))
	if _, _, err := s.Unpack("", bytes.NewReader(tb)); err == nil {
		t.Fatal("no error")
	}
	if got := listTree(t, s.root); len(got) != 1 || got[0] != "tmp" {
		t.Fatalf("store holds %v after a failed unpack", got)
	}
	// Garbage is not a tar.
	if _, _, err := s.Unpack("", bytes.NewReader([]byte("not a tar at all, clearly............"))); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestRemoveAndPrune(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	a, _, err := s.Unpack("", bytes.NewReader(buildTar(t, file("a", "a"))))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.Unpack("", bytes.NewReader(buildTar(t, file("b", "b"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a); err != nil || s.Has(a) {
		t.Fatalf("Remove: %v, Has %v", err, s.Has(a))
	}
	if err := s.Remove(a); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	removed, err := s.Prune(func(digest.Digest) bool { return false })
	if err != nil || len(removed) != 1 || removed[0] != b {
		t.Fatalf("Prune = %v, %v", removed, err)
	}
	if got := listTree(t, s.root); len(got) != 1 {
		t.Fatalf("store holds %v after prune", got)
	}
}

func TestOpenRemovesStaleTmp(t *testing.T) {
	s := openStore(t)
	// Pid 0x7fffffff cannot exist (pid_max is at most 2^22).
	stale := filepath.Join(s.tmpDir(), "2147483647-abc")
	live := filepath.Join(s.tmpDir(), "1-abc") // init is alive
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "diff"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(s.root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale tmp dir survived Open")
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("a live process's tmp dir was removed")
	}
}
