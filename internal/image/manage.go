package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/opencontainers/go-digest"
)

// HistoryEntry is one line of `history`, newest first.
type HistoryEntry struct {
	ID         string // the image ID on the top line, "<missing>" below
	Created    time.Time
	CreatedBy  string
	Size       int64 // unpacked size of the layer this step made, 0 if none
	Comment    string
	EmptyLayer bool
}

// History lists the steps that made img, newest first, each with the
// size of the layer it added.
func (s *Store) History(img *Image) []HistoryEntry {
	chains := layer.ChainIDs(img.DiffIDs)
	var out []HistoryEntry
	li := 0
	for _, h := range img.Config.History {
		e := HistoryEntry{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && li < len(chains) {
			if info, err := s.layers.Get(chains[li]); err == nil {
				e.Size = info.Size
			}
			li++
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = img.ID.String()
	}
	return out
}

// LayerSize is the unpacked size of a layer, 0 if unknown.
func (s *Store) LayerSize(chainID digest.Digest) int64 {
	if info, err := s.layers.Get(chainID); err == nil {
		return info.Size
	}
	return 0
}

// Prune removes untagged images (all images with all) that inUse does
// not claim, then blobs no image references (such as those a failed pull
// kept to resume). It returns the deleted image IDs and the bytes freed.
func (s *Store) Prune(all bool, inUse func(digest.Digest) bool) ([]digest.Digest, int64, error) {
	imgs, err := s.List()
	if err != nil {
		return nil, 0, err
	}
	var deleted []digest.Digest
	var freed int64
	var errs []error
	for _, img := range imgs {
		if (!all && len(img.RepoTags) > 0) || (inUse != nil && inUse(img.ID)) {
			continue
		}
		n, err := s.removeMeasured(img)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, img.ID)
		freed += n
	}
	n, err := s.removeOrphanBlobs()
	return deleted, freed + n, errors.Join(append(errs, err)...)
}

// removeMeasured removes img (not in use: the caller checked) and
// returns the bytes that went with it: its blobs and unpacked layers that
// no other image shares, measured before and found gone after.
func (s *Store) removeMeasured(img *Image) (int64, error) {
	blobs := map[string]int64{}
	for _, d := range s.blobsOf(img) {
		if fi, err := os.Lstat(s.blobPath(d)); err == nil {
			blobs[s.blobPath(d)] = fi.Size()
		}
	}
	layers := map[digest.Digest]int64{}
	for _, c := range layer.ChainIDs(img.DiffIDs) {
		layers[c] = s.LayerSize(c)
	}
	if _, _, err := s.Remove(img.ID.String(), true, nil); err != nil {
		return 0, err
	}
	var freed int64
	for p, n := range blobs {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			freed += n
		}
	}
	for c, n := range layers {
		if _, err := s.layers.Get(c); err != nil {
			freed += n
		}
	}
	return freed, nil
}

// blobsOf names img's config, manifest and layer blobs.
func (s *Store) blobsOf(img *Image) []digest.Digest {
	idx, err := s.readIndex()
	if err != nil {
		return nil
	}
	rec, ok := idx.Images[img.ID]
	if !ok {
		return nil
	}
	return append([]digest.Digest{img.ID, rec.Manifest}, rec.Layers...)
}

// removeOrphanBlobs deletes blobs that no image's config, manifest or
// layers name, under the lock so no import is writing one meanwhile.
func (s *Store) removeOrphanBlobs() (int64, error) {
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return 0, err
	}
	used := map[string]bool{}
	for id, r := range idx.Images {
		used[id.Encoded()], used[r.Manifest.Encoded()] = true, true
		for _, l := range r.Layers {
			used[l.Encoded()] = true
		}
	}
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		return 0, err
	}
	var freed int64
	for _, e := range ents {
		if used[e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(s.blobDir(), e.Name())
		if fi, err := os.Lstat(p); err == nil && os.Remove(p) == nil {
			freed += fi.Size()
		}
	}
	return freed, nil
}
