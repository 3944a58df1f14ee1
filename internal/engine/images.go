package engine

import (
	"github.com/opencontainers/go-digest"
)

// imagesInUse returns a test for images some container was made from.
func (e *Engine) imagesInUse() (func(digest.Digest) bool, error) {
	ctrs, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.ImageID] = true
	}
	return func(id digest.Digest) bool { return used[id.String()] }, nil
}

// PruneImages removes untagged images (every image with all) that no
// container uses, and blobs no image needs. It returns the deleted
// image IDs and the bytes freed.
func (e *Engine) PruneImages(all bool) ([]digest.Digest, int64, error) {
	inUse, err := e.imagesInUse()
	if err != nil {
		return nil, 0, err
	}
	return e.Images.Prune(all, inUse)
}
