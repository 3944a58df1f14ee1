package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions describe the image Commit makes.
type CommitOptions struct {
	Ref     string   // tag for the new image, "" for none
	Changes []string // Dockerfile instructions applied to the config
	Comment string   // -m
	Author  string   // -a
	// CreatedBy is the history line, e.g. the container's command.
	CreatedBy string
	// Config replaces the parent's config (the container's settings as
	// it ran); nil keeps the parent's. Changes apply on top.
	Config *ocispec.ImageConfig
}

// Commit makes a new image from the image parent names plus one layer,
// diff: an uncompressed tar in OCI form (.wh. whiteouts), the changes a
// container made. The parent's layers are shared, not copied.
func (s *Store) Commit(ctx context.Context, parent string, diff io.Reader, o CommitOptions) (_ *Image, err error) {
	refs, err := fullRefs([]string{o.Ref})
	if err != nil {
		return nil, err
	}
	base, err := s.Get(parent)
	if err != nil {
		return nil, err
	}
	cfg := base.Config
	if o.Config != nil {
		cfg.Config = *o.Config
	}
	if err := ApplyChanges(&cfg.Config, o.Changes); err != nil {
		return nil, err
	}
	baseLayers, err := s.manifestLayers(base)
	if err != nil {
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
	blob, diffID, err := s.storeLayerBlob(ctxReader{ctx, diff}, &undo)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	chains := layer.ChainIDs(base.DiffIDs)
	top := digest.Digest("")
	if len(chains) > 0 {
		top = chains[len(chains)-1]
	}
	size, err := s.unpackOnce(ctx, blob, top, layer.ChainID(top, diffID), &undo)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	addHistory(&cfg, diffID, o)
	return s.commitConfig(cfg, append(baseLayers, blob), base.Size+size, refs, &undo)
}

func addHistory(cfg *ocispec.Image, diffID digest.Digest, o CommitOptions) {
	now := time.Now().UTC()
	cfg.Created = &now
	if o.Author != "" {
		cfg.Author = o.Author
	}
	cfg.RootFS.DiffIDs = append(append([]digest.Digest(nil), cfg.RootFS.DiffIDs...), diffID)
	cfg.History = append(append([]ocispec.History(nil), cfg.History...),
		ocispec.History{Created: &now, CreatedBy: o.CreatedBy, Author: o.Author, Comment: o.Comment})
}

// manifestLayers returns the layer descriptors of an image's manifest.
func (s *Store) manifestLayers(img *Image) ([]ocispec.Descriptor, error) {
	var m ocispec.Manifest
	b, err := os.ReadFile(s.blobPath(img.Manifest))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.ID.Encoded()[:12], err)
	}
	for i := range m.Layers {
		m.Layers[i].MediaType = ociLayerType(m.Layers[i].MediaType)
	}
	return m.Layers, nil
}

// ociLayerType names a Docker schema 2 layer type by its OCI equivalent:
// the committed image's manifest is OCI, and should not mix the two.
func ociLayerType(mt string) string {
	switch mt {
	case "application/vnd.docker.image.rootfs.diff.tar.gzip":
		return ocispec.MediaTypeImageLayerGzip
	case "application/vnd.docker.image.rootfs.diff.tar":
		return ocispec.MediaTypeImageLayer
	}
	return mt
}

// commitConfig writes a new config and an OCI manifest for layers, then
// publishes the image.
func (s *Store) commitConfig(cfg ocispec.Image, layers []ocispec.Descriptor, size int64, refs []string, undo *undoList) (*Image, error) {
	configDesc, err := s.putJSON(ocispec.MediaTypeImageConfig, cfg, undo)
	if err != nil {
		return nil, fmt.Errorf("commit: config: %w", err)
	}
	manDesc, err := s.putJSON(ocispec.MediaTypeImageManifest, newManifest(configDesc, layers), undo)
	if err != nil {
		return nil, fmt.Errorf("commit: manifest: %w", err)
	}
	return s.publish(configDesc.Digest, manDesc.Digest, size, layers, refs, "")
}
