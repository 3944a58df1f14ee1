package image

import (
	"fmt"
	"slices"

	"github.com/cocin-dev/cocin/internal/layer"
)

// ShiftedLayerDirs is LayerDirs for a container in a user namespace
// without idmapped mounts: each layer's copy with owners shifted by sh,
// made on first use and cached in the layer store.
func (s *Store) ShiftedLayerDirs(img *Image, sh layer.IDShift) ([]string, error) {
	chains := layer.ChainIDs(img.DiffIDs)
	dirs := make([]string, 0, len(chains))
	for _, c := range slices.Backward(chains) {
		d, err := s.layers.ShiftedDir(c, sh)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.ID.Encoded()[:12], err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}
