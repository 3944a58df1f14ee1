package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is an in-process OCI distribution registry on loopback
// that counts blob downloads and can fail one blob's first download.
type testRegistry struct {
	host     string
	mu       sync.Mutex
	gets     map[string]int // blob path → GET count
	failOnce string         // digest whose first GET fails half-way
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{gets: map[string]int{}}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			tr.mu.Lock()
			tr.gets[d]++
			fail := d == tr.failOnce && tr.gets[d] == 1
			tr.mu.Unlock()
			if fail {
				// A connection that dies mid-body: headers promise more.
				w.Header().Set("Content-Length", "100000")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte("partial"))
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) count(d string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.gets[d]
}

// twoLayerImage imports a base and commits a second layer on it.
func twoLayerImage(t *testing.T, ts *testStores, ref string) *Image {
	t.Helper()
	base := ts.importTar(t, rootfsTar(t, map[string]string{"bin/a": "a"}), "base:1", "ENV A=1", "CMD [\"/bin/a\"]")
	img, err := ts.images.Commit(context.Background(), base.ID.String(), bytes.NewReader(rootfsTar(t, map[string]string{"bin/b": "b"})),
		CommitOptions{Ref: ref, Changes: []string{"WORKDIR /w"}, Comment: "two"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPushPullSameDigests(t *testing.T) {
	ts := newStores(t)
	reg := newRegistry(t)
	img := twoLayerImage(t, ts, "app:1")
	ref := reg.host + "/team/app:1"
	pushed, err := ts.images.Push(context.Background(), "app:1", ref, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pushed.String() != img.Manifest.String() {
		t.Errorf("registry serves manifest %s, store has %s", pushed, img.Manifest)
	}
	// Made here, the image had no repo digest; the push gives it one.
	want := []string{reg.host + "/team/app@" + pushed.String()}
	if img.RepoDigests != nil || !slices.Equal(mustGet(t, ts, "app:1").RepoDigests, want) {
		t.Errorf("repo digests %v before and %v after the push, want none and %v", img.RepoDigests, mustGet(t, ts, "app:1").RepoDigests, want)
	}

	other := newStores(t)
	var events []ProgressEvent
	got, _, err := other.images.Pull(context.Background(), ref, RemoteOptions{Progress: func(e ProgressEvent) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || got.Manifest != img.Manifest || !slices.Equal(got.RepoDigests, want) {
		t.Errorf("pulled %s (manifest %s, repo digests %v), pushed %s (manifest %s)", got.ID, got.Manifest, got.RepoDigests, img.ID, img.Manifest)
	}
	if len(got.DiffIDs) != 2 || got.Config.Config.WorkingDir != "/w" || got.Config.Config.Env[0] != "A=1" {
		t.Errorf("pulled config %+v", got.Config.Config)
	}
	if len(events) == 0 {
		t.Error("no progress events")
	}
	if dirs, err := other.images.LayerDirs(got); err != nil || len(dirs) != 2 {
		t.Errorf("layer dirs %v, %v", dirs, err)
	}
	// The repository's last tag takes its digest along, as in Docker.
	if err := other.images.Tag(ref, "keep:1"); err != nil {
		t.Fatal(err)
	}
	untagged, _, err := other.images.Remove(ref, false, nil)
	if err != nil || !slices.Equal(untagged, []string{ref, want[0]}) || mustGet(t, other, "keep:1").RepoDigests != nil {
		t.Errorf("untag: %v, %v; repo digests left %v", untagged, err, mustGet(t, other, "keep:1").RepoDigests)
	}
}

func TestInterruptedPullResumes(t *testing.T) {
	ts := newStores(t)
	reg := newRegistry(t)
	twoLayerImage(t, ts, "app:1")
	ref := reg.host + "/app:1"
	if _, err := ts.images.Push(context.Background(), "app:1", ref, RemoteOptions{}); err != nil {
		t.Fatal(err)
	}
	n, _ := RemoteRef(ref)
	ri, err := remote.Image(n)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := ri.Layers()
	first, _ := layers[0].Digest()
	second, _ := layers[1].Digest()
	reg.failOnce = second.String()
	reg.gets = map[string]int{}

	other := newStores(t)
	if _, _, err := other.images.Pull(context.Background(), ref, RemoteOptions{}); err == nil {
		t.Fatal("pull with a failing blob succeeded")
	}
	if imgs, _ := other.images.List(); len(imgs) != 0 {
		t.Fatalf("an interrupted pull left %d images", len(imgs))
	}
	if other.layerCount(t) != 0 {
		t.Errorf("an interrupted pull left %d unpacked layers", other.layerCount(t))
	}
	if _, _, err := other.images.Pull(context.Background(), ref, RemoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := reg.count(first.String()); c != 1 {
		t.Errorf("first layer fetched %d times, want 1 (resumed)", c)
	}
	if c := reg.count(second.String()); c != 2 {
		t.Errorf("second layer fetched %d times, want 2", c)
	}
}

func TestPullRefusesDigestMismatch(t *testing.T) {
	ts := newStores(t)
	reg := newRegistry(t)
	twoLayerImage(t, ts, "app:1")
	ref := reg.host + "/app:1"
	if _, err := ts.images.Push(context.Background(), "app:1", ref, RemoteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A proxy that serves other bytes than the manifest promises.
	target, _ := url.Parse("http://" + reg.host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || !strings.Contains(resp.Request.URL.Path, "/blobs/") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if len(b) > 200 { // a layer, not the small config
			b[len(b)/2] ^= 0xff
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	evil := httptest.NewServer(proxy)
	defer evil.Close()
	other := newStores(t)
	_, _, err := other.images.Pull(context.Background(), strings.TrimPrefix(evil.URL, "http://")+"/app:1", RemoteOptions{})
	if err == nil {
		t.Fatal("pull of a corrupted layer succeeded")
	}
	if imgs, _ := other.images.List(); len(imgs) != 0 || other.layerCount(t) != 0 {
		t.Errorf("a refused pull left %d images, %d layers", len(imgs), other.layerCount(t))
	}
	if !errors.Is(err, ErrDigestMismatch) && !strings.Contains(err.Error(), "checksum") {
		t.Errorf("error does not name the digest: %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, format := range []string{FormatDocker, FormatOCI} {
		t.Run(format, func(t *testing.T) {
			ts := newStores(t)
			img := twoLayerImage(t, ts, "app:1")
			var buf bytes.Buffer
			if err := ts.images.Save(context.Background(), &buf, []string{"app:1", "base:1"}, format); err != nil {
				t.Fatal(err)
			}
			other := newStores(t)
			loaded, err := other.images.Load(context.Background(), &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 2 {
				t.Fatalf("loaded %d images, want 2", len(loaded))
			}
			got := mustGet(t, other, "app:1")
			if got.ID != img.ID || got.Config.Config.WorkingDir != "/w" {
				t.Errorf("loaded %s workdir %q, saved %s", got.ID, got.Config.Config.WorkingDir, img.ID)
			}
			// The base's layer is shared by both images: unpacked once.
			if n := other.layerCount(t); n != 2 {
				t.Errorf("%d layers unpacked, want 2", n)
			}
		})
	}
}

func TestConcurrentPullsOfOneImage(t *testing.T) {
	ts := newStores(t)
	reg := newRegistry(t)
	img := twoLayerImage(t, ts, "app:1")
	ref := reg.host + "/app:1"
	if _, err := ts.images.Push(context.Background(), "app:1", ref, RemoteOptions{}); err != nil {
		t.Fatal(err)
	}
	other := newStores(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = other.images.Pull(context.Background(), ref, RemoteOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if imgs, _ := other.images.List(); len(imgs) != 1 || imgs[0].ID != img.ID {
		t.Errorf("images after concurrent pulls: %v", imgs)
	}
	if n := other.layerCount(t); n != 2 {
		t.Errorf("%d layers, want 2", n)
	}
	for _, b := range other.blobs(t) {
		if strings.HasPrefix(b, ".tmp-") {
			t.Errorf("temp blob left: %s", b)
		}
	}
}

// TestPullDockerSchema2FromIndex: a Docker schema 2 image inside a
// multi-platform index; pull picks this platform's entry.
func TestPullDockerSchema2FromIndex(t *testing.T) {
	ts := newStores(t)
	reg := newRegistry(t)
	build := func(arch, file string) v1.Image {
		raw := rootfsTar(t, map[string]string{file: arch})
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.DockerManifestSchema2), l)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	other := "arm64"
	if Platform().Architecture == "arm64" {
		other = "amd64"
	}
	want := build(Platform().Architecture, "mine")
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList),
		mutate.IndexAddendum{Add: build(other, "theirs"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: want, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: Platform().Architecture}}})
	ref, _ := name.ParseReference(reg.host + "/multi:1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	got, pulled, err := ts.images.Pull(context.Background(), reg.host+"/multi:1", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := want.ConfigName()
	wantMan, _ := want.Digest()
	// The tag points at the index: that is the repo digest, as in Docker.
	idxDigest, _ := idx.Digest()
	if pulled.String() != idxDigest.String() || !slices.Equal(got.RepoDigests, []string{reg.host + "/multi@" + idxDigest.String()}) {
		t.Errorf("pull digest %s, repo digests %v; want the index's %s", pulled, got.RepoDigests, idxDigest)
	}
	if got.ID.String() != wantID.String() || got.Manifest.String() != wantMan.String() {
		t.Errorf("pulled %s (manifest %s), want this platform's %s (%s)", got.ID, got.Manifest, wantID, wantMan)
	}
	dirs, err := ts.images.LayerDirs(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "mine")); err != nil {
		t.Errorf("the pulled layer is not this platform's: %v", err)
	}
	// A Docker schema 2 image pushes back unchanged.
	if d, err := ts.images.Push(context.Background(), reg.host+"/multi:1", reg.host+"/copy:1", RemoteOptions{}); err != nil || d != wantMan {
		t.Errorf("push of a schema 2 image: %s, %v; want %s", d, err, wantMan)
	}
}
