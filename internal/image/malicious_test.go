package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// archiveWithLayer builds a docker-archive whose one layer holds hdrs.
func archiveWithLayer(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var lb bytes.Buffer
	tw := tar.NewWriter(&lb)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	raw := lb.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("evil:1")
	var out bytes.Buffer
	if err := tarball.Write(tag, img, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestLoadMaliciousLayers: layers that try to write outside the store
// are refused whole (no image, no layer left), or contained; device
// nodes are dropped. Nothing appears outside the store either way.
func TestLoadMaliciousLayers(t *testing.T) {
	outside := t.TempDir()
	reg := func(n string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: 1}
	}
	cases := []struct {
		name   string
		hdrs   []*tar.Header
		refuse bool
	}{
		{"dotdot", []*tar.Header{reg("../../../../" + outside[1:] + "/pwned")}, true},
		{"absolute", []*tar.Header{reg(outside + "/pwned")}, true},
		{"hardlink to host file", []*tar.Header{{Typeflag: tar.TypeLink, Name: "pw", Linkname: "/etc/passwd"}}, true},
		{"hardlink dotdot", []*tar.Header{{Typeflag: tar.TypeLink, Name: "pw", Linkname: "../../etc/passwd"}}, true},
		{"symlink out then file", []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: outside}, reg("evil/pwned")}, false},
		{"device node", []*tar.Header{{Typeflag: tar.TypeBlock, Name: "sda", Mode: 0o600, Devmajor: 8}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newStores(t)
			loaded, err := ts.images.Load(context.Background(), bytes.NewReader(archiveWithLayer(t, c.hdrs...)), nil)
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("a layer wrote outside the store: %v", ents)
			}
			if c.refuse {
				if err == nil {
					t.Fatal("malicious layer loaded")
				}
				if imgs, _ := ts.images.List(); len(imgs) != 0 || ts.layerCount(t) != 0 {
					t.Errorf("refused load left %d images, %d layers", len(imgs), ts.layerCount(t))
				}
				return
			}
			if err != nil || len(loaded) != 1 {
				t.Fatalf("load: %v", err)
			}
			dirs, err := ts.images.LayerDirs(loaded[0].Image)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(dirs[0], "sda")); err == nil {
				t.Error("a block device from a layer was created")
			}
		})
	}
}
