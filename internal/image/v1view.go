package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// V1Image returns a stored image as a go-containerregistry image, read
// straight from the blob store: what push and save write out.
func (s *Store) V1Image(img *Image) (v1.Image, error) {
	raw, err := os.ReadFile(s.blobPath(img.Manifest))
	if err != nil {
		return nil, fmt.Errorf("image %s: read manifest: %w", img.ID.Encoded()[:12], err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.ID.Encoded()[:12], err)
	}
	return partial.CompressedToImage(&storedImage{s: s, manifest: raw, layers: m.Layers, config: img.ID})
}

// storedImage implements partial.CompressedImageCore over the store.
type storedImage struct {
	s        *Store
	manifest []byte
	layers   []ocispec.Descriptor
	config   digest.Digest
}

func (i *storedImage) RawConfigFile() ([]byte, error) { return os.ReadFile(i.s.blobPath(i.config)) }

func (i *storedImage) MediaType() (types.MediaType, error) {
	return manifestMediaType(i.manifest), nil
}

func (i *storedImage) RawManifest() ([]byte, error) { return i.manifest, nil }

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range i.layers {
		if l.Digest.String() == h.String() {
			return &storedLayer{s: i.s, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

// storedLayer is one layer blob of the store.
type storedLayer struct {
	s    *Store
	desc ocispec.Descriptor
}

func (l *storedLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.desc.Digest.String()) }

func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	return os.Open(l.s.blobPath(l.desc.Digest))
}

func (l *storedLayer) Size() (int64, error) { return l.desc.Size, nil }

func (l *storedLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}
