// Package image is cocin's content-addressed image store.
//
// Layout under the store's root:
//
//	blobs/sha256/<hex>   layer tarballs, configs and manifests, by digest
//	index.json           images (by config digest: the IMAGE ID) and tags
//	index.lock           flock(2) target serialising changes to index.json
//
// Layers are unpacked once into the layer store (package layer), keyed by
// chain ID, and shared by every image that has them.
package image

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/state"
	digest "github.com/opencontainers/go-digest"
	specsgo "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound  = errors.New("no such image")
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
	ErrInUse     = errors.New("image is in use")
)

// Image is one image of the store.
type Image struct {
	ID       digest.Digest // config digest
	RepoTags []string
	Manifest digest.Digest
	Created  time.Time
	Size     int64
	Config   ocispec.Image
	DiffIDs  []digest.Digest
}

type imageEntry struct {
	Manifest digest.Digest `json:"manifest"`
	Created  time.Time     `json:"created"`
}

type index struct {
	Images map[digest.Digest]imageEntry `json:"images"`
	Tags   map[string]digest.Digest     `json:"tags"`
}

// Store is the image store.
type Store struct {
	root   string
	layers *layer.Store
}

// Open opens the store at root over the layer store.
func Open(root string, layers *layer.Store) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(root, "blobs", "sha256"), 0o700); err != nil {
		return nil, fmt.Errorf("create image store: %w", err)
	}
	return &Store{root: root, layers: layers}, nil
}

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), d.Encoded())
}

func (s *Store) readIndex() (*index, error) {
	idx := &index{Images: map[digest.Digest]imageEntry{}, Tags: map[string]digest.Digest{}}
	b, err := os.ReadFile(filepath.Join(s.root, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	return idx, nil
}

// update changes the index under its lock.
func (s *Store) update(fn func(*index) error) error {
	f, err := os.OpenFile(filepath.Join(s.root, "index.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(filepath.Join(s.root, "index.json"), b, 0o600)
}

// writeBlob stores data under its digest.
func (s *Store) writeBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if _, err := os.Stat(s.blobPath(d)); err == nil {
		return d, nil
	}
	return d, state.WriteFileAtomic(s.blobPath(d), data, 0o600)
}

// Import turns a root filesystem tarball (plain or gzip) into a one-layer
// image tagged ref ("" leaves it untagged).
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, changes []string) (*Image, error) {
	if ref != "" {
		var err error
		if ref, err = NormalizeRef(ref); err != nil {
			return nil, err
		}
	}
	var cfg ocispec.ImageConfig
	if err := ApplyChanges(&cfg, changes); err != nil {
		return nil, err
	}
	blob, size, diffID, err := s.importLayer(r)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	img := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &now, CreatedBy: "cocin import", Comment: "Imported from tarball"}},
	}
	layerDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: blob, Size: size}
	if s.isGzip(blob) {
		layerDesc.MediaType = ocispec.MediaTypeImageLayerGzip
	}
	return s.addImage(img, []ocispec.Descriptor{layerDesc}, ref)
}

// addImage writes the config and manifest of an image whose layers are in
// the store, and tags it.
func (s *Store) addImage(img ocispec.Image, layers []ocispec.Descriptor, ref string) (*Image, error) {
	cb, err := json.Marshal(img)
	if err != nil {
		return nil, err
	}
	cd, err := s.writeBlob(cb)
	if err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		Versioned: specsgo.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: int64(len(cb))},
		Layers:    layers,
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	md, err := s.writeBlob(mb)
	if err != nil {
		return nil, err
	}
	err = s.update(func(idx *index) error {
		idx.Images[cd] = imageEntry{Manifest: md, Created: *img.Created}
		if ref != "" {
			idx.Tags[ref] = cd
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(cd.String())
}

// importLayer stores the tarball as a blob and unpacks it, in one pass.
func (s *Store) importLayer(r io.Reader) (blob digest.Digest, size int64, diffID digest.Digest, err error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, "blobs"), ".tmp-")
	if err != nil {
		return "", 0, "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(r, 64*1024)
	raw := io.TeeReader(br, io.MultiWriter(tmp, h))
	var layerStream io.Reader = raw
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return "", 0, "", fmt.Errorf("read gzip: %w", err)
		}
		layerStream = gz
	}
	// For a bottom layer the chain ID is the diff ID.
	diffID, _, err = s.layers.Unpack("", layerStream)
	if err != nil {
		return "", 0, "", err
	}
	n, err := io.Copy(io.Discard, raw)
	if err != nil {
		return "", 0, "", err
	}
	_ = n
	if err := tmp.Sync(); err != nil {
		return "", 0, "", err
	}
	st, err := tmp.Stat()
	if err != nil {
		return "", 0, "", err
	}
	blob = digest.NewDigest(digest.SHA256, h)
	if err := os.Rename(tmp.Name(), s.blobPath(blob)); err != nil {
		return "", 0, "", err
	}
	return blob, st.Size(), diffID, nil
}

func (s *Store) isGzip(d digest.Digest) bool {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return false
	}
	defer f.Close()
	var m [2]byte
	n, _ := f.Read(m[:])
	return n == 2 && m[0] == 0x1f && m[1] == 0x8b
}

// load builds an Image from its index entry.
func (s *Store) load(idx *index, id digest.Digest) (*Image, error) {
	e, ok := idx.Images[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	b, err := os.ReadFile(s.blobPath(id))
	if err != nil {
		return nil, fmt.Errorf("read image config %s: %w", id, err)
	}
	img := &Image{ID: id, Manifest: e.Manifest, Created: e.Created}
	if err := json.Unmarshal(b, &img.Config); err != nil {
		return nil, fmt.Errorf("decode image config %s: %w", id, err)
	}
	img.DiffIDs = img.Config.RootFS.DiffIDs
	for _, c := range layer.ChainIDs(img.DiffIDs) {
		if info, err := s.layers.Get(c); err == nil {
			img.Size += info.Size
		}
	}
	for t, d := range idx.Tags {
		if d == id {
			img.RepoTags = append(img.RepoTags, t)
		}
	}
	sort.Strings(img.RepoTags)
	return img, nil
}

// List returns every image, newest first.
func (s *Store) List() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []*Image
	for id := range idx.Images {
		img, err := s.load(idx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Get finds an image by name[:tag], sha256:ID, full ID or unique ID prefix.
func (s *Store) Get(ref string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, _, err := resolve(idx, ref)
	if err != nil {
		return nil, err
	}
	return s.load(idx, id)
}

// resolve returns the image ID of ref and the tag ref named, if any.
func resolve(idx *index, ref string) (digest.Digest, string, error) {
	if n, err := NormalizeRef(ref); err == nil {
		if id, ok := idx.Tags[n]; ok {
			return id, n, nil
		}
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	if hex == "" || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", "", fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	var found digest.Digest
	for id := range idx.Images {
		if strings.HasPrefix(id.Encoded(), hex) {
			if found != "" {
				return "", "", fmt.Errorf("%w: %s", ErrAmbiguous, ref)
			}
			found = id
		}
	}
	if found == "" {
		return "", "", fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return found, "", nil
}

// Tag adds ref as a name of the image src.
func (s *Store) Tag(src, ref string) error {
	n, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	return s.update(func(idx *index) error {
		id, _, err := resolve(idx, src)
		if err != nil {
			return err
		}
		idx.Tags[n] = id
		return nil
	})
}

// LayerDirs returns the image's unpacked layer directories, top first.
func (s *Store) LayerDirs(img *Image) ([]string, error) {
	chain := layer.ChainIDs(img.DiffIDs)
	out := make([]string, len(chain))
	for i, c := range chain {
		if !s.layers.Has(c) {
			return nil, fmt.Errorf("layer %s of image %s is missing", c, img.ID)
		}
		out[len(chain)-1-i] = s.layers.Dir(c)
	}
	return out, nil
}

// Remove implements rmi: a tag is untagged, and an image with no tag left
// is deleted with the layers and blobs no other image uses. An image in
// use by a container is refused unless force, and even then only untagged.
// An ID with several tags needs force.
func (s *Store) Remove(ref string, force bool, inUse func(digest.Digest) bool) (untagged []string, deleted []digest.Digest, err error) {
	var dropLayers []digest.Digest
	var dropBlobs []digest.Digest
	err = s.update(func(idx *index) error {
		id, tag, err := resolve(idx, ref)
		if err != nil {
			return err
		}
		var tags []string
		for t, d := range idx.Tags {
			if d == id {
				tags = append(tags, t)
			}
		}
		sort.Strings(tags)
		used := inUse != nil && inUse(id)
		switch {
		case used && !force:
			return fmt.Errorf("%w: unable to remove %s (must force): a container is using image %s", ErrInUse, ref, id.Encoded()[:12])
		case tag != "" && len(tags) > 1:
			delete(idx.Tags, tag)
			untagged = append(untagged, tag)
			return nil
		case tag == "" && len(tags) > 1 && !force:
			return fmt.Errorf("conflict: unable to delete %s (must be forced): image is referenced in multiple repositories", id.Encoded()[:12])
		}
		for _, t := range tags {
			delete(idx.Tags, t)
			untagged = append(untagged, t)
		}
		if used {
			return nil // forced: untagged only, as Docker keeps an image in use
		}
		dropLayers, dropBlobs = s.unreferenced(idx, id)
		delete(idx.Images, id)
		deleted = append(deleted, id)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, b := range dropBlobs {
		_ = os.Remove(s.blobPath(b))
	}
	for _, l := range dropLayers {
		_ = s.layers.Remove(l)
	}
	return untagged, deleted, nil
}

// unreferenced lists the layers and blobs of id that no other image uses.
func (s *Store) unreferenced(idx *index, id digest.Digest) (layers, blobs []digest.Digest) {
	keepLayers := map[digest.Digest]bool{}
	keepBlobs := map[digest.Digest]bool{}
	for other, e := range idx.Images {
		if other == id {
			continue
		}
		img, err := s.load(idx, other)
		if err != nil {
			continue
		}
		for _, c := range layer.ChainIDs(img.DiffIDs) {
			keepLayers[c] = true
		}
		keepBlobs[other], keepBlobs[e.Manifest] = true, true
		for _, l := range s.manifestLayers(e.Manifest) {
			keepBlobs[l] = true
		}
	}
	img, err := s.load(idx, id)
	if err != nil {
		return nil, nil
	}
	for _, c := range layer.ChainIDs(img.DiffIDs) {
		if !keepLayers[c] {
			layers = append(layers, c)
		}
	}
	m := idx.Images[id].Manifest
	for _, b := range append([]digest.Digest{id, m}, s.manifestLayers(m)...) {
		if !keepBlobs[b] {
			blobs = append(blobs, b)
		}
	}
	return layers, blobs
}

func (s *Store) manifestLayers(md digest.Digest) []digest.Digest {
	b, err := os.ReadFile(s.blobPath(md))
	if err != nil {
		return nil
	}
	var m ocispec.Manifest
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var out []digest.Digest
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}
