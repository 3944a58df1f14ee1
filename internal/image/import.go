package image

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// undoList collects the inverse of each step an import has done, run in
// reverse order if the import fails.
type undoList []func()

func (u *undoList) add(f func()) { *u = append(*u, f) }

func (u undoList) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// Import creates a one-layer image from a root filesystem tarball (plain,
// gzip or bzip2: the magic bytes decide), tags it ref ("" leaves it
// untagged) and applies the Dockerfile-style changes to its config;
// message is the history comment ("" for the default). A layer already in the store is reused, not unpacked again. On failure
// nothing it wrote remains.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, changes []string, message string) (_ *Image, err error) {
	var full string
	if ref != "" {
		parsed, err := parseRef(ref)
		if err != nil {
			return nil, err
		}
		full = parsed.String()
	}
	var cfg ocispec.ImageConfig
	if err := ApplyChanges(&cfg, changes); err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.removeTempBlobs() // any left now are a crashed writer's: we hold the lock

	var undo undoList
	defer func() {
		if err != nil {
			undo.run()
		}
	}()
	blob, diffID, err := s.storeLayerBlob(ctxReader{ctx, r}, &undo)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	size, err := s.ensureLayer(ctx, blob, diffID, &undo)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if message == "" {
		message = "Imported from tarball"
	}
	return s.commitImport(cfg, blob, diffID, size, full, message, &undo)
}

// commitImport writes the config and manifest and then the index entry,
// the step that makes the image exist.
func (s *Store) commitImport(cfg ocispec.ImageConfig, blob ocispec.Descriptor, diffID digest.Digest, size int64, full, comment string, undo *undoList) (*Image, error) {
	now := time.Now().UTC()
	config := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &now, CreatedBy: "import", Comment: comment}},
	}
	configDesc, err := s.putJSON(ocispec.MediaTypeImageConfig, config, undo)
	if err != nil {
		return nil, fmt.Errorf("import: config: %w", err)
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{blob},
	}
	manDesc, err := s.putJSON(ocispec.MediaTypeImageManifest, manifest, undo)
	if err != nil {
		return nil, fmt.Errorf("import: manifest: %w", err)
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	idx.Images[configDesc.Digest] = &record{
		Manifest: manDesc.Digest, Created: now, Size: size,
		Layers: []digest.Digest{blob.Digest}, ChainIDs: layer.ChainIDs(config.RootFS.DiffIDs),
	}
	if full != "" {
		idx.Tags[full] = manDesc.Digest
	}
	if err := s.writeIndex(idx); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return s.load(idx, configDesc.Digest)
}

// compression names a tarball's compression from its first bytes.
func compression(magic []byte) string {
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(magic, []byte("BZh")):
		return "bzip2"
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

// storeLayerBlob copies the tarball into a blob and returns its
// descriptor and diff ID (the digest of the uncompressed tar). Gzip is
// stored as is; bzip2 has no OCI media type, so it is stored
// decompressed.
func (s *Store) storeLayerBlob(r io.Reader, undo *undoList) (ocispec.Descriptor, digest.Digest, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(8)
	if len(magic) == 0 {
		return ocispec.Descriptor{}, "", errors.New("empty tarball")
	}
	var src io.Reader = br
	mediaType := ocispec.MediaTypeImageLayer
	switch c := compression(magic); c {
	case "gzip":
		mediaType = ocispec.MediaTypeImageLayerGzip
	case "bzip2":
		src = bzip2.NewReader(br)
	case "":
	default:
		return ocispec.Descriptor{}, "", fmt.Errorf("%s-compressed tarballs are not supported: decompress it first", c)
	}
	diffHash := sha256.New()
	desc, err := s.writeBlob(mediaType, func(w io.Writer) error {
		if mediaType != ocispec.MediaTypeImageLayerGzip {
			_, err := io.Copy(io.MultiWriter(w, diffHash), src)
			return err
		}
		return copyGzip(w, diffHash, src)
	}, undo)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	return desc, digest.NewDigest(digest.SHA256, diffHash), nil
}

// copyGzip copies the compressed stream to blob and its decompressed
// content to diff in one pass.
func copyGzip(blob, diff io.Writer, src io.Reader) error {
	tee := io.TeeReader(src, blob)
	gz, err := gzip.NewReader(tee)
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if _, err := io.Copy(diff, gz); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	// The gzip reader may stop before the stream's last bytes.
	_, err = io.Copy(io.Discard, tee)
	return err
}

// writeBlob streams fill's output into a temp file and renames it to its
// digest. A blob that exists already is kept (and not undone).
func (s *Store) writeBlob(mediaType string, fill func(io.Writer) error, undo *undoList) (ocispec.Descriptor, error) {
	// The pid in the name tells removeTempBlobs whether the writer lives:
	// pulls write blobs without the store lock.
	f, err := os.CreateTemp(s.blobDir(), ".tmp-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	err = fill(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.NewDigest(digest.SHA256, h), Size: cw.n}
	path := s.blobPath(desc.Digest)
	if _, err := os.Stat(path); err == nil {
		return desc, nil
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return ocispec.Descriptor{}, err
	}
	undo.add(func() { os.Remove(path) })
	return desc, syncDir(s.blobDir())
}

func (s *Store) putJSON(mediaType string, v any, undo *undoList) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return s.writeBlob(mediaType, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, undo)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ensureLayer unpacks the blob into the layer store unless its layer is
// there already, and returns the layer's unpacked size.
func (s *Store) ensureLayer(ctx context.Context, blob ocispec.Descriptor, diffID digest.Digest, undo *undoList) (int64, error) {
	chain := layer.ChainID("", diffID)
	if info, err := s.layers.Get(chain); err == nil {
		return info.Size, nil
	}
	f, err := os.Open(s.blobPath(blob.Digest))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = ctxReader{ctx, f}
	if blob.MediaType == ocispec.MediaTypeImageLayerGzip {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		r = gz
	}
	got, size, err := s.layers.Unpack("", r)
	if err != nil {
		return 0, err
	}
	undo.add(func() { _ = s.layers.Remove(got) })
	if got != chain {
		return 0, fmt.Errorf("layer %s unpacked as %s: the blob changed while importing", chain, got)
	}
	return size, nil
}

// removeTempBlobs deletes blob temp files whose writer is gone (a
// crashed import or pull); the name's pid tells.
func (s *Store) removeTempBlobs() {
	ents, _ := os.ReadDir(s.blobDir())
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), ".tmp-")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		if pid, err := strconv.Atoi(pidStr); err == nil && (pid == os.Getpid() || processAlive(pid)) {
			continue // still being written
		}
		os.Remove(filepath.Join(s.blobDir(), e.Name()))
	}
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
