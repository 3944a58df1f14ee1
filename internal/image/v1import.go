package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrDigestMismatch reports content whose digest is not the one its
// manifest or config promised. Such content is never stored.
var ErrDigestMismatch = errors.New("digest mismatch")

// ProgressEvent tells a caller how a layer's transfer goes.
type ProgressEvent struct {
	Digest  digest.Digest // the layer blob (or diff ID when stored uncompressed)
	Total   int64         // bytes expected, 0 when unknown
	Current int64         // bytes done so far
	Status  string        // "Downloading", "Already exists", "Extracting", "Done"
}

// Progress receives ProgressEvents; it may be nil.
type Progress func(ProgressEvent)

func (p Progress) send(ev ProgressEvent) {
	if p != nil {
		p(ev)
	}
}

// ImportOptions says how AddImage stores an image.
type ImportOptions struct {
	// Tags are references to point at the image ("" entries ignored).
	Tags []string
	// Uncompressed stores each layer's uncompressed tar (keyed by its
	// diff ID) instead of the source's compressed blob, and writes a new
	// manifest. A docker-archive holds plain tars: taking them as they
	// are avoids recompressing hundreds of megabytes.
	Uncompressed bool
	Progress     Progress
	// RepoDigest is what the tags' repositories serve for them (a pull's
	// manifest or index digest), recorded with the image; "" for none.
	RepoDigest digest.Digest
}

// AddImage stores img (from a registry, a docker-archive or an OCI
// layout): its layer blobs, each verified against its digest and diff
// ID, its layers unpacked once per chain ID, its config and manifest,
// and its tags. Verified blobs are kept even when the import fails later,
// so a pull that is interrupted resumes without fetching them again; the
// image itself appears only at the end, whole.
func (s *Store) AddImage(ctx context.Context, img v1.Image, o ImportOptions) (_ *Image, err error) {
	refs, err := fullRefs(o.Tags)
	if err != nil {
		return nil, err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(rawConfig, &cfg); err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	if want, err := img.ConfigName(); err == nil && digest.FromBytes(rawConfig).String() != want.String() {
		return nil, fmt.Errorf("image config: %w: got %s, want %s", ErrDigestMismatch, digest.FromBytes(rawConfig), want)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("read image layers: %w", err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d diff IDs", len(layers), len(cfg.RootFS.DiffIDs))
	}
	// Fetch first, without the lock: a long download must not hold up
	// rmi, tag or another pull. Blobs are published atomically under
	// their digest, so concurrent writers of one blob agree.
	if err := s.fetchBlobs(ctx, layers, cfg.RootFS.DiffIDs, o); err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.removeTempBlobs()

	var undo undoList
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	descs, size, err := s.addLayers(ctx, layers, cfg.RootFS.DiffIDs, o, &undo)
	if err != nil {
		return nil, err
	}
	return s.commitImage(img, rawConfig, descs, size, refs, o, &undo)
}

func fullRefs(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		if t == "" {
			continue
		}
		r, err := parseRef(t)
		if err != nil {
			return nil, err
		}
		out = append(out, r.String())
	}
	return out, nil
}

// fetchBlobs stores every layer blob the store lacks, reporting progress.
func (s *Store) fetchBlobs(ctx context.Context, layers []v1.Layer, diffIDs []digest.Digest, o ImportOptions) error {
	for i, l := range layers {
		if _, err := s.addLayerBlob(ctx, l, diffIDs[i], o); err != nil {
			return err
		}
	}
	return nil
}

// addLayers stores and unpacks each layer, bottom first. The blobs are
// normally there already (fetchBlobs); one that a concurrent prune
// removed meanwhile is fetched again, now under the lock.
func (s *Store) addLayers(ctx context.Context, layers []v1.Layer, diffIDs []digest.Digest, o ImportOptions, undo *undoList) ([]ocispec.Descriptor, int64, error) {
	var descs []ocispec.Descriptor
	var total int64
	parent := digest.Digest("")
	for i, l := range layers {
		quiet := o
		quiet.Progress = nil
		desc, err := s.addLayerBlob(ctx, l, diffIDs[i], quiet)
		if err != nil {
			return nil, 0, err
		}
		chain := layer.ChainID(parent, diffIDs[i])
		size, err := s.unpackOnce(ctx, desc, parent, chain, undo)
		if err != nil {
			return nil, 0, fmt.Errorf("layer %s: %w", desc.Digest, err)
		}
		o.Progress.send(ProgressEvent{Digest: desc.Digest, Total: desc.Size, Current: desc.Size, Status: "Done"})
		descs = append(descs, desc)
		total += size
		parent = chain
	}
	return descs, total, nil
}

// addLayerBlob writes one layer's blob unless the store has it already,
// and refuses it if its digest is not the one promised. The blob is not
// put on the undo list: once verified it is worth keeping for a retry.
func (s *Store) addLayerBlob(ctx context.Context, l v1.Layer, diffID digest.Digest, o ImportOptions) (ocispec.Descriptor, error) {
	mt, err := l.MediaType()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	want, open := diffID, l.Uncompressed
	mediaType := ocispec.MediaTypeImageLayer
	size := int64(0)
	if !o.Uncompressed {
		h, err := l.Digest()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		want, open, mediaType = digest.Digest(h.String()), l.Compressed, string(mt)
		size, _ = l.Size()
	}
	if fi, err := os.Stat(s.blobPath(want)); err == nil {
		o.Progress.send(ProgressEvent{Digest: want, Total: fi.Size(), Current: fi.Size(), Status: "Already exists"})
		return ocispec.Descriptor{MediaType: mediaType, Digest: want, Size: fi.Size()}, nil
	}
	rc, err := open()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", want, err)
	}
	defer rc.Close()
	pr := &progressReader{r: ctxReader{ctx, rc}, ev: ProgressEvent{Digest: want, Total: size, Status: "Downloading"}, p: o.Progress}
	var discard undoList // verified blobs stay: see above
	desc, err := s.writeBlob(mediaType, func(w io.Writer) error {
		_, err := io.Copy(w, pr)
		return err
	}, &discard)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", want, err)
	}
	if desc.Digest != want {
		os.Remove(s.blobPath(desc.Digest))
		return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w: content hashes to %s", want, ErrDigestMismatch, desc.Digest)
	}
	return desc, nil
}

// unpackOnce unpacks a stored blob on top of parent unless the layer is
// there already, and checks that the content's diff ID is the config's.
func (s *Store) unpackOnce(ctx context.Context, desc ocispec.Descriptor, parent, chain digest.Digest, undo *undoList) (int64, error) {
	if info, err := s.layers.Get(chain); err == nil {
		return info.Size, nil
	}
	f, err := os.Open(s.blobPath(desc.Digest))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := decompress(ctxReader{ctx, f})
	if err != nil {
		return 0, err
	}
	got, size, err := s.layers.Unpack(parent, r)
	if err != nil {
		return 0, err
	}
	if got != chain {
		_ = s.layers.Remove(got)
		os.Remove(s.blobPath(desc.Digest)) // its content is not what the config says
		return 0, fmt.Errorf("%w: its content does not have the diff ID the image config lists", ErrDigestMismatch)
	}
	undo.add(func() { _ = s.layers.Remove(got) })
	return size, nil
}

// decompress returns the uncompressed stream of a layer blob, whatever
// its media type claims: the magic bytes decide (gzip, zstd or plain).
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(8)
	switch c := compression(magic); c {
	case "gzip":
		return gzip.NewReader(br)
	case "zstd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	case "":
		return br, nil
	default:
		return nil, fmt.Errorf("%s-compressed layers are not supported", c)
	}
}

// commitImage writes the config and manifest blobs and then the index
// entry, the step that makes the image exist.
func (s *Store) commitImage(img v1.Image, rawConfig []byte, layers []ocispec.Descriptor, size int64, refs []string, o ImportOptions, undo *undoList) (*Image, error) {
	configDesc, err := s.writeBlob(ocispec.MediaTypeImageConfig, func(w io.Writer) error {
		_, err := w.Write(rawConfig)
		return err
	}, undo)
	if err != nil {
		return nil, fmt.Errorf("store image config: %w", err)
	}
	manDesc, err := s.storeManifest(img, configDesc, layers, o.Uncompressed, undo)
	if err != nil {
		return nil, fmt.Errorf("store manifest: %w", err)
	}
	return s.publish(configDesc.Digest, manDesc.Digest, size, layers, refs, o.RepoDigest)
}

// storeManifest keeps the source's manifest when its blobs were stored
// as they came (so a pushed and pulled image keeps its digest), and
// writes an OCI manifest for the stored blobs otherwise.
func (s *Store) storeManifest(img v1.Image, configDesc ocispec.Descriptor, layers []ocispec.Descriptor, synthesize bool, undo *undoList) (ocispec.Descriptor, error) {
	if !synthesize {
		raw, err := img.RawManifest()
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		return s.writeBlob(ocispec.MediaTypeImageManifest, func(w io.Writer) error {
			_, err := w.Write(raw)
			return err
		}, undo)
	}
	configDesc.MediaType = ocispec.MediaTypeImageConfig
	return s.putJSON(ocispec.MediaTypeImageManifest, newManifest(configDesc, layers), undo)
}

// publish adds the image and its tags to the index, and repoDigest (if
// any) for the tags' repositories.
func (s *Store) publish(id, manifest digest.Digest, size int64, layers []ocispec.Descriptor, refs []string, repoDigest digest.Digest) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	cfgDiffs, err := s.diffIDs(id)
	if err != nil {
		return nil, err
	}
	rec := &record{Manifest: manifest, Size: size, ChainIDs: layer.ChainIDs(cfgDiffs)}
	if old := idx.Images[id]; old != nil {
		rec.Created, rec.RepoDigests = old.Created, old.RepoDigests
	}
	if rec.Created.IsZero() {
		rec.Created = s.createdOf(id)
	}
	for _, l := range layers {
		rec.Layers = append(rec.Layers, l.Digest)
	}
	idx.Images[id] = rec
	for _, r := range refs {
		idx.Tags[r] = manifest
		if repoDigest != "" {
			rec.addRepoDigest(repoOf(r), repoDigest)
		}
	}
	if err := s.writeIndex(idx); err != nil {
		return nil, err
	}
	return s.load(idx, id)
}

func (s *Store) diffIDs(id digest.Digest) ([]digest.Digest, error) {
	var cfg ocispec.Image
	b, err := os.ReadFile(s.blobPath(id))
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	return cfg.RootFS.DiffIDs, err
}

// createdOf returns the config's creation time, which `images` shows.
func (s *Store) createdOf(id digest.Digest) time.Time {
	var cfg ocispec.Image
	if b, err := os.ReadFile(s.blobPath(id)); err == nil && json.Unmarshal(b, &cfg) == nil && cfg.Created != nil {
		return cfg.Created.UTC()
	}
	return time.Now().UTC()
}

// progressReader reports bytes read as Downloading events.
type progressReader struct {
	r  io.Reader
	ev ProgressEvent
	p  Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.ev.Current += int64(n)
	p.p.send(p.ev)
	return n, err
}

// manifestMediaType tells an OCI or Docker schema 2 manifest's media type.
func manifestMediaType(raw []byte) types.MediaType {
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &m) == nil && m.MediaType != "" {
		return types.MediaType(m.MediaType)
	}
	if bytes.Contains(raw, []byte(types.DockerManifestSchema2)) {
		return types.DockerManifestSchema2
	}
	return types.OCIManifestSchema1
}

func newManifest(config ocispec.Descriptor, layers []ocispec.Descriptor) ocispec.Manifest {
	return ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	}
}
