// Package image is cocin's content-addressed OCI image store.
//
// # Layout
//
//	<root>/
//	  blobs/sha256/<hex>   layer tarballs (as given: gzip or plain), image
//	                       configs and manifests, named by their digest
//	  blobs/sha256/.tmp-<pid>-*  blobs being written (removed once that
//	                       pid is gone)
//	  index.json           images keyed by config digest (the IMAGE ID),
//	                       each with its manifest, size, layer blobs and
//	                       chain IDs and repo digests (what pull and push
//	                       saw registries serve); and the tag table: full reference
//	                       ("docker.io/library/busybox:latest") → manifest
//	                       digest
//	  index.lock           flock(2) target held by every change
//
// Blobs and configs use the image-spec types. Unpacked layers live in the
// layer store (package layer), keyed by chain ID and shared by all images
// that have them; the image store owns their lifetime and asks the layer
// store to remove a layer when its last image goes.
//
// # Consistency
//
// index.json is the only mutable file and the commit point of every
// change: it is replaced atomically (temp file, fsync, rename) while the
// writer holds an exclusive flock on index.lock. Readers take no lock;
// they see the index before or after a change. Blobs and layers are
// written before the index names them and deleted after it stops naming
// them, so a crash leaves at most unreferenced files, never a dangling
// image. An import holds the lock from start to end: imports run one at
// a time, and no concurrent rmi can free a layer an import is reusing.
// Pull and load fetch their layer blobs before taking the lock (a blob
// is published atomically under its digest, so writers agree) and hold
// it only to unpack and publish.
package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cocin-dev/cocin/internal/state"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors callers test with errors.Is. They are wrapped with the name.
var (
	ErrNotFound  = errors.New("image not found")
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
	ErrConflict  = errors.New("conflict") // rmi of a used or multiply-referenced image
)

// Image is one image of the store.
type Image struct {
	ID       digest.Digest // config digest
	RepoTags []string      // short form, e.g. "busybox:latest"; sorted
	Manifest digest.Digest
	Created  time.Time
	Size     int64 // sum of unpacked layer sizes
	Config   ocispec.Image
	DiffIDs  []digest.Digest
	// RepoDigests are "repo@digest" (short form): what a registry's
	// repository served or took for the image, as pull and push record
	// it; none for an image only made or loaded here. Oldest first.
	RepoDigests []string
}

// record is an image's entry in index.json: what List and rmi need
// without reading blobs.
type record struct {
	Manifest digest.Digest   `json:"manifest"`
	Created  time.Time       `json:"created"`
	Size     int64           `json:"size"`
	Layers   []digest.Digest `json:"layers"`   // layer blob digests
	ChainIDs []digest.Digest `json:"chainIDs"` // bottom first
	// RepoDigests are full "repo@digest" names (see Image.RepoDigests).
	RepoDigests []string `json:"repoDigests,omitempty"`
}

type index struct {
	Images map[digest.Digest]*record `json:"images"`
	Tags   map[string]digest.Digest  `json:"tags"` // full ref → manifest
}

// Store is an image store over a layer store.
type Store struct {
	root   string
	layers *layer.Store
}

// Open opens (creating if needed) the image store at root. It is cheap:
// it creates directories and reads nothing.
func Open(root string, layers *layer.Store) (*Store, error) {
	if layers == nil {
		return nil, errors.New("open image store: no layer store")
	}
	if err := os.MkdirAll(filepath.Join(root, "blobs", "sha256"), 0o700); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return &Store{root: root, layers: layers}, nil
}

func (s *Store) blobDir() string { return filepath.Join(s.root, "blobs", "sha256") }

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.blobDir(), d.Encoded())
}

func (s *Store) lock() (func(), error) { return state.LockFile(filepath.Join(s.root, "index.lock")) }

func (s *Store) readIndex() (*index, error) {
	idx := &index{Images: map[digest.Digest]*record{}, Tags: map[string]digest.Digest{}}
	b, err := os.ReadFile(filepath.Join(s.root, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	return idx, nil
}

func (s *Store) writeIndex(idx *index) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.root, "index.json"), b, 0o600); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	return nil
}

// imageOf returns the image a manifest belongs to.
func (idx *index) imageOf(manifest digest.Digest) (digest.Digest, bool) {
	for id, r := range idx.Images {
		if r.Manifest == manifest {
			return id, true
		}
	}
	return "", false
}

// tagsOf returns the full refs naming the image, sorted.
func (idx *index) tagsOf(id digest.Digest) []string {
	r := idx.Images[id]
	var out []string
	for ref, m := range idx.Tags {
		if r != nil && m == r.Manifest {
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}

// byPrefix finds the one image whose ID's hex starts with prefix.
func (idx *index) byPrefix(prefix, name string) (digest.Digest, error) {
	var found []digest.Digest
	for id := range idx.Images {
		if strings.HasPrefix(id.Encoded(), prefix) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrNotFound, name)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("%w: %s matches %d images", ErrAmbiguous, name, len(found))
	}
}

// resolve finds the image s names and, when s is a tag, its full ref.
// Like Docker: a full 64-hex ID is an ID; otherwise a tag is tried
// first and a hex string then as a unique ID prefix.
func (idx *index) resolve(s string) (id digest.Digest, ref string, err error) {
	if hex, ok := strings.CutPrefix(s, digest.SHA256.String()+":"); ok {
		if !isHex(hex) || len(hex) > 64 {
			return "", "", fmt.Errorf("%w: %s", ErrInvalidRef, s)
		}
		id, err := idx.byPrefix(hex, s)
		return id, "", err
	}
	if len(s) == 64 && isHex(s) {
		id, err := idx.byPrefix(s, s)
		return id, "", err
	}
	r, perr := parseRef(s)
	if perr == nil {
		if id, ok := idx.imageOf(idx.Tags[r.String()]); ok {
			return id, r.String(), nil
		}
	}
	if isHex(s) {
		id, err := idx.byPrefix(s, s)
		return id, "", err
	}
	if perr != nil {
		return "", "", perr
	}
	return "", "", fmt.Errorf("%w: %s", ErrNotFound, s)
}

// load builds an Image from its record and config blob.
func (s *Store) load(idx *index, id digest.Digest) (*Image, error) {
	r := idx.Images[id]
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	b, err := os.ReadFile(s.blobPath(id))
	if err != nil {
		return nil, fmt.Errorf("image %s: read config: %w", id.Encoded()[:12], err)
	}
	img := &Image{ID: id, Manifest: r.Manifest, Created: r.Created, Size: r.Size}
	if err := json.Unmarshal(b, &img.Config); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", id.Encoded()[:12], err)
	}
	img.DiffIDs = img.Config.RootFS.DiffIDs
	for _, t := range idx.tagsOf(id) {
		img.RepoTags = append(img.RepoTags, familiar(t))
	}
	sort.Strings(img.RepoTags)
	for _, d := range r.RepoDigests {
		i := strings.LastIndex(d, "@")
		img.RepoDigests = append(img.RepoDigests, familiarRepo(d[:i])+d[i:])
	}
	return img, nil
}

// List returns every image, newest first.
func (s *Store) List() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(idx.Images))
	for id := range idx.Images {
		img, err := s.load(idx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Get finds an image by "name", "name:tag", "sha256:<hex>", full hex ID
// or a unique prefix of it. It wraps ErrNotFound, ErrAmbiguous or
// ErrInvalidRef.
func (s *Store) Get(refOrID string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, _, err := idx.resolve(refOrID)
	if err != nil {
		return nil, err
	}
	return s.load(idx, id)
}

// Tag makes ref name the image src names; the image ref named before,
// if any, loses that tag.
func (s *Store) Tag(src, ref string) error {
	return s.editByRef(src, ref, func(idx *index, id digest.Digest, r reference) {
		idx.Tags[r.String()] = idx.Images[id].Manifest
	})
}

// editByRef parses ref, resolves src under the index lock and writes back
// what edit changed.
func (s *Store) editByRef(src, ref string, edit func(idx *index, id digest.Digest, r reference)) error {
	r, err := parseRef(ref)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	id, _, err := idx.resolve(src)
	if err != nil {
		return err
	}
	edit(idx, id, r)
	return s.writeIndex(idx)
}

// LayerDirs returns the image's unpacked layer directories, top-most
// first (overlay's lowerdir order).
func (s *Store) LayerDirs(img *Image) ([]string, error) {
	chains := layer.ChainIDs(img.DiffIDs)
	dirs := make([]string, 0, len(chains))
	for _, c := range slices.Backward(chains) {
		if !s.layers.Has(c) {
			return nil, fmt.Errorf("image %s: layer %s is missing from the layer store", img.ID.Encoded()[:12], c)
		}
		dirs = append(dirs, s.layers.Dir(c))
	}
	return dirs, nil
}

// addRepoDigest records that repo (full form) serves d for the image.
func (r *record) addRepoDigest(repo string, d digest.Digest) {
	rd := repo + "@" + d.String()
	if !slices.Contains(r.RepoDigests, rd) {
		r.RepoDigests = append(r.RepoDigests, rd)
	}
}

// dropUntaggedDigests forgets the repo digests of the repositories of
// removed tags in which the image has no tag left, and returns them
// (short form): Docker untags them with the repository's last tag.
func (idx *index) dropUntaggedDigests(id digest.Digest, removed []string) []string {
	r := idx.Images[id]
	if r == nil {
		return nil
	}
	gone := map[string]bool{}
	for _, t := range removed {
		gone[repoOf(t)] = true
	}
	for _, t := range idx.tagsOf(id) {
		delete(gone, repoOf(t))
	}
	var dropped []string
	r.RepoDigests = slices.DeleteFunc(r.RepoDigests, func(rd string) bool {
		i := strings.LastIndex(rd, "@")
		if !gone[rd[:i]] {
			return false
		}
		dropped = append(dropped, familiarRepo(rd[:i])+rd[i:])
		return true
	})
	return dropped
}

// AddRepoDigest records that the registry repository of ref serves d for
// the image src names (after a push).
func (s *Store) AddRepoDigest(src, ref string, d digest.Digest) error {
	return s.editByRef(src, ref, func(idx *index, id digest.Digest, r reference) {
		idx.Images[id].addRepoDigest(r.repo(), d)
	})
}
