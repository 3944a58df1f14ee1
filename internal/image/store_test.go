package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rootfsTar builds a small root filesystem tarball of name → content.
func rootfsTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o755, Size: int64(len(files[n])),
			ModTime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type testStores struct {
	images *Store
	layers *layer.Store
	root   string
}

func newStores(t *testing.T) *testStores {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (layers keep file owners)")
	}
	root := t.TempDir()
	ls, err := layer.Open(filepath.Join(root, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	is, err := Open(filepath.Join(root, "image"), ls)
	if err != nil {
		t.Fatal(err)
	}
	return &testStores{images: is, layers: ls, root: root}
}

func (ts *testStores) importTar(t *testing.T, tb []byte, ref string, changes ...string) *Image {
	t.Helper()
	img, err := ts.images.Import(context.Background(), bytes.NewReader(tb), ref, changes, "")
	if err != nil {
		t.Fatalf("import %s: %v", ref, err)
	}
	return img
}

func (ts *testStores) layerCount(t *testing.T) int {
	t.Helper()
	infos, err := ts.layers.List()
	if err != nil {
		t.Fatal(err)
	}
	return len(infos)
}

// blobs lists the blob store's files (temp files included).
func (ts *testStores) blobs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(ts.images.blobDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestImportListGetRemove(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"bin/sh": "#!", "etc/hostname": "x\n"})
	img := ts.importTar(t, tb, "busybox", `CMD ["sh"]`, "ENV A=1", "WORKDIR /w")

	if !slices.Equal(img.RepoTags, []string{"busybox:latest"}) {
		t.Fatalf("RepoTags %v", img.RepoTags)
	}
	if img.Size != 4 || len(img.DiffIDs) != 1 || img.DiffIDs[0] != digest.FromBytes(tb) {
		t.Fatalf("size %d diffIDs %v", img.Size, img.DiffIDs)
	}
	c := img.Config
	if c.OS != "linux" || c.Architecture == "" || c.RootFS.Type != "layers" || c.Created == nil ||
		len(c.History) != 1 || c.History[0].CreatedBy != "import" {
		t.Fatalf("config %+v", c)
	}
	if !slices.Equal(c.Config.Cmd, []string{"sh"}) || !slices.Equal(c.Config.Env, []string{"A=1"}) || c.Config.WorkingDir != "/w" {
		t.Fatalf("changes not applied: %+v", c.Config)
	}
	// The ID is the config blob's digest, and the manifest names it.
	cfgBlob, err := os.ReadFile(ts.images.blobPath(img.ID))
	if err != nil || digest.FromBytes(cfgBlob) != img.ID {
		t.Fatalf("config blob: %v", err)
	}
	if _, err := os.Stat(ts.images.blobPath(img.Manifest)); err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox", img.ID.String(), img.ID.Encoded(), img.ID.Encoded()[:12], "sha256:" + img.ID.Encoded()[:5]} {
		got, err := ts.images.Get(ref)
		if err != nil || got.ID != img.ID {
			t.Fatalf("Get(%q) = %v, %v", ref, got, err)
		}
	}
	for _, ref := range []string{"busybox:other", "nothere", "sha256:ffff" + strings.Repeat("0", 60)} {
		if _, err := ts.images.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q): %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := ts.images.Get("Bad:Ref:"); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("Get of a malformed ref: %v", err)
	}

	dirs, err := ts.images.LayerDirs(img)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dirs[0], "etc/hostname")); string(b) != "x\n" {
		t.Fatalf("layer content %q", b)
	}

	list, err := ts.images.List()
	if err != nil || len(list) != 1 || list[0].ID != img.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	untagged, deleted, err := ts.images.Remove("busybox", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(untagged, []string{"busybox:latest"}) || len(deleted) != 2 || deleted[0] != img.ID {
		t.Fatalf("Remove = %v, %v", untagged, deleted)
	}
	if list, _ := ts.images.List(); len(list) != 0 {
		t.Fatalf("List after rmi: %v", list)
	}
	if n := ts.layerCount(t); n != 0 {
		t.Fatalf("%d layers left", n)
	}
	if b := ts.blobs(t); len(b) != 0 {
		t.Fatalf("blobs left: %v", b)
	}
}

func TestImportSameTarTwiceUnpacksOnce(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"f": "1"})
	a := ts.importTar(t, tb, "a")
	dirs, _ := ts.images.LayerDirs(a)
	// A marker in the unpacked layer proves the second import did not
	// unpack again (it would have made a fresh directory).
	marker := filepath.Join(dirs[0], ".marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // distinct Created, so distinct IDs
	b := ts.importTar(t, gzipped(t, tb), "b")
	if a.ID == b.ID || a.DiffIDs[0] != b.DiffIDs[0] {
		t.Fatalf("IDs %s %s, diffIDs %v %v", a.ID, b.ID, a.DiffIDs, b.DiffIDs)
	}
	if n := ts.layerCount(t); n != 1 {
		t.Fatalf("%d layers, want 1 shared", n)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("layer was unpacked again")
	}
	if b.Size != a.Size {
		t.Fatalf("sizes %d %d", a.Size, b.Size)
	}
	// Newest first.
	list, _ := ts.images.List()
	if len(list) != 2 || list[0].ID != b.ID {
		t.Fatalf("List order: %v", list)
	}
	// Removing one keeps the shared layer.
	if _, deleted, err := ts.images.Remove("a", false, nil); err != nil || len(deleted) != 1 {
		t.Fatalf("rmi a: %v, %v", deleted, err)
	}
	if _, err := ts.images.LayerDirs(b); err != nil {
		t.Fatalf("b lost its layer: %v", err)
	}
	if _, deleted, err := ts.images.Remove("b", false, nil); err != nil || len(deleted) != 2 {
		t.Fatalf("rmi b: %v, %v", deleted, err)
	}
	if n := ts.layerCount(t); n != 0 {
		t.Fatalf("%d layers left", n)
	}
}

func TestImportGzipAndUntagged(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"hello": "world"})
	img := ts.importTar(t, gzipped(t, tb), "")
	if len(img.RepoTags) != 0 {
		t.Fatalf("untagged import has tags %v", img.RepoTags)
	}
	if img.DiffIDs[0] != digest.FromBytes(tb) {
		t.Fatal("diff ID is not the digest of the uncompressed tar")
	}
	b, err := os.ReadFile(ts.images.blobPath(img.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(ocispec.MediaTypeImageLayerGzip)) {
		t.Fatalf("manifest %s has no gzip layer", b)
	}
	dirs, _ := ts.images.LayerDirs(img)
	if got, _ := os.ReadFile(filepath.Join(dirs[0], "hello")); string(got) != "world" {
		t.Fatalf("hello = %q", got)
	}
}

func TestImportFailureLeavesNothing(t *testing.T) {
	ts := newStores(t)
	ts.importTar(t, rootfsTar(t, map[string]string{"ok": "1"}), "good")
	blobsBefore := ts.blobs(t)
	index, _ := os.ReadFile(filepath.Join(ts.images.root, "index.json"))

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bad := []struct {
		name string
		ctx  context.Context
		data []byte
		ref  string
		ch   []string
	}{
		{"escaping entry", context.Background(), rootfsTar(t, map[string]string{"ok2": "1", "../evil": "x"}), "bad", nil},
		{"not a tar", context.Background(), bytes.Repeat([]byte("garbage!"), 200), "bad", nil},
		{"broken gzip", context.Background(), gzipped(t, rootfsTar(t, map[string]string{"a": "b"}))[:30], "bad", nil},
		{"empty", context.Background(), nil, "bad", nil},
		{"xz", context.Background(), []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, "bad", nil},
		{"bad ref", context.Background(), rootfsTar(t, map[string]string{"a": "b"}), "Bad", nil},
		{"bad change", context.Background(), rootfsTar(t, map[string]string{"a": "b"}), "bad", []string{"RUN x"}},
		{"canceled", canceled, rootfsTar(t, map[string]string{"a": "b"}), "bad", nil},
	}
	for _, c := range bad {
		if _, err := ts.images.Import(c.ctx, bytes.NewReader(c.data), c.ref, c.ch, ""); err == nil {
			t.Fatalf("%s: import succeeded", c.name)
		}
		if got := ts.blobs(t); !slices.Equal(got, blobsBefore) {
			t.Fatalf("%s: blobs %v, want %v", c.name, got, blobsBefore)
		}
		if n := ts.layerCount(t); n != 1 {
			t.Fatalf("%s: %d layers", c.name, n)
		}
		if got, _ := os.ReadFile(filepath.Join(ts.images.root, "index.json")); !bytes.Equal(got, index) {
			t.Fatalf("%s: index changed", c.name)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(ts.root, "layers", "tmp")); len(ents) != 0 {
		t.Fatalf("layer tmp not empty: %v", ents)
	}
	if _, err := ts.images.Get("good"); err != nil {
		t.Fatal(err)
	}
}

func TestTagAndRmiSemantics(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"f": "1"})
	img := ts.importTar(t, tb, "app:1")
	for _, ref := range []string{"app:2", "other/app"} {
		if err := ts.images.Tag("app:1", ref); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.images.Tag("app:1", "Nope"); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("Tag to a bad ref: %v", err)
	}
	if err := ts.images.Tag("missing", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Tag of a missing image: %v", err)
	}
	got, _ := ts.images.Get(img.ID.String())
	if !slices.Equal(got.RepoTags, []string{"app:1", "app:2", "other/app:latest"}) {
		t.Fatalf("tags %v", got.RepoTags)
	}

	// By ID with tags in two repositories: needs force.
	if _, _, err := ts.images.Remove(img.ID.Encoded()[:8], false, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("rmi by ID with several repos: %v", err)
	}
	// By tag: untag only.
	untagged, deleted, err := ts.images.Remove("other/app", false, nil)
	if err != nil || !slices.Equal(untagged, []string{"other/app:latest"}) || len(deleted) != 0 {
		t.Fatalf("untag: %v %v %v", untagged, deleted, err)
	}
	// In use: a tag can go while another remains; the last cannot.
	stopped := func(id digest.Digest) Users {
		if id == img.ID {
			return Users{Stopped: "c1"}
		}
		return Users{}
	}
	running := func(digest.Digest) Users { return Users{Running: "c2"} }
	if _, _, err := ts.images.Remove("app:2", false, stopped); err != nil {
		t.Fatalf("untag of a used image with another tag left: %v", err)
	}
	if _, _, err := ts.images.Remove("app:1", false, stopped); !errors.Is(err, ErrConflict) {
		t.Fatalf("removing the last tag of a used image: %v", err)
	}
	if _, _, err := ts.images.Remove(img.ID.String(), false, stopped); !errors.Is(err, ErrConflict) {
		t.Fatalf("removing a used image by ID: %v", err)
	}
	// A running container's image cannot be deleted by ID, even forced.
	if _, _, err := ts.images.Remove(img.ID.String(), true, running); !errors.Is(err, ErrConflict) ||
		!strings.Contains(err.Error(), "cannot be forced") {
		t.Fatalf("forced rmi by ID of a running container's image: %v", err)
	}
	// Forced while a stopped container uses it: untagged, not deleted;
	// the image stays (dangling) for the container.
	untagged, deleted, err = ts.images.Remove(img.ID.String(), true, stopped)
	if err != nil || !slices.Equal(untagged, []string{"app:1"}) || len(deleted) != 0 {
		t.Fatalf("forced rmi: %v %v %v", untagged, deleted, err)
	}
	if got, err := ts.images.Get(img.ID.String()); err != nil || len(got.RepoTags) != 0 {
		t.Fatalf("image after forced rmi: %v, %v; want it dangling", got, err)
	}
	if _, err := ts.images.Get("app:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after rmi: %v", err)
	}
	if freed, err := ts.images.GCLayers(nil); err != nil || len(freed) != 0 {
		t.Fatalf("GCLayers freed %v, %v: the dangling image's layer", freed, err)
	}
	// Once the container is gone, the dangling image goes like any.
	if _, deleted, err := ts.images.Remove(img.ID.String(), false, nil); err != nil || len(deleted) != 2 {
		t.Fatalf("rmi of the unused dangling image: %v %v", deleted, err)
	}
	if n := ts.layerCount(t); n != 0 {
		t.Fatalf("%d layers left", n)
	}
}

func TestRmiByIDSingleRepoAndRetag(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"f": "1"})
	old := ts.importTar(t, tb, "app:1")
	if err := ts.images.Tag("app:1", "app:2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	// Importing over a tag moves it; the old image keeps its other tag.
	newer := ts.importTar(t, tb, "app:1")
	if got, _ := ts.images.Get(old.ID.String()); !slices.Equal(got.RepoTags, []string{"app:2"}) {
		t.Fatalf("old image tags %v", got.RepoTags)
	}
	if err := ts.images.Tag(newer.ID.String(), "app:2"); err != nil {
		t.Fatal(err)
	}
	// old is now dangling (<none>) and still listed.
	if got, _ := ts.images.Get(old.ID.String()); len(got.RepoTags) != 0 {
		t.Fatalf("old image tags %v, want none", got.RepoTags)
	}
	// By ID with several tags of one repository: no force needed.
	untagged, deleted, err := ts.images.Remove(newer.ID.String(), false, nil)
	if err != nil || len(untagged) != 2 || deleted[0] != newer.ID {
		t.Fatalf("rmi: %v %v %v", untagged, deleted, err)
	}
	// The shared layer stays for the dangling image.
	if _, err := ts.images.LayerDirs(mustGet(t, ts, old.ID.String())); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, ts *testStores, ref string) *Image {
	t.Helper()
	img, err := ts.images.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestResolvePrefixAndAmbiguity(t *testing.T) {
	id := func(hex string) digest.Digest {
		return digest.NewDigestFromEncoded(digest.SHA256, hex+strings.Repeat("0", 64-len(hex)))
	}
	a, b, c := id("abc1"), id("abc2"), id("def")
	idx := &index{
		Images: map[digest.Digest]*record{a: {Manifest: id("1")}, b: {Manifest: id("2")}, c: {Manifest: id("3")}},
		Tags:   map[string]digest.Digest{"docker.io/library/abc:latest": id("3")},
	}
	cases := []struct {
		in   string
		want digest.Digest
		err  error
	}{
		{"abc1", a, nil},
		{"d", c, nil},
		{"sha256:abc2", b, nil},
		{a.Encoded(), a, nil},
		{"abc", c, nil}, // a tag wins over an ID prefix, as in Docker
		{"ab", "", ErrAmbiguous},
		{"sha256:a", "", ErrAmbiguous},
		{"f", "", ErrNotFound},
		{"sha256:xyz", "", ErrInvalidRef},
	}
	for _, tc := range cases {
		got, _, err := idx.resolve(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("resolve(%q) error %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolve(%q) = %s, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestLayerDirsTopFirst(t *testing.T) {
	ts := newStores(t)
	// Build a two-layer image by hand: the import API makes one layer,
	// but LayerDirs must order any stack top-first.
	l0 := rootfsTar(t, map[string]string{"a": "0"})
	l1 := rootfsTar(t, map[string]string{"b": "1"})
	c0, _, err := ts.layers.Unpack("", bytes.NewReader(l0))
	if err != nil {
		t.Fatal(err)
	}
	c1, _, err := ts.layers.Unpack(c0, bytes.NewReader(l1))
	if err != nil {
		t.Fatal(err)
	}
	img := &Image{ID: digest.FromString("x"), DiffIDs: []digest.Digest{digest.FromBytes(l0), digest.FromBytes(l1)}}
	dirs, err := ts.images.LayerDirs(img)
	if err != nil || !slices.Equal(dirs, []string{ts.layers.Dir(c1), ts.layers.Dir(c0)}) {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	if err := ts.layers.Remove(c0); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.images.LayerDirs(img); err == nil {
		t.Fatal("LayerDirs with a missing layer succeeded")
	}
}

func TestConcurrentImportsShareOneLayer(t *testing.T) {
	ts := newStores(t)
	tb := rootfsTar(t, map[string]string{"f": "1", "g": "2"})
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := ts.images.Import(context.Background(), bytes.NewReader(tb), fmt.Sprintf("img%d", i), nil, "")
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	list, err := ts.images.List()
	if err != nil || len(list) != n {
		t.Fatalf("List = %d images, %v", len(list), err)
	}
	if c := ts.layerCount(t); c != 1 {
		t.Fatalf("%d layers, want 1", c)
	}
}
