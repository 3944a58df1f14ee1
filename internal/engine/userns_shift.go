package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/layer"
	"golang.org/x/sys/unix"
)

// noIDMapEnv forces the shifted-copy fallback even where the kernel
// could idmap the layers (tests, and kernels whose idmapped mounts
// misbehave on a filesystem).
const noIDMapEnv = "COCIN_USERNS_NO_IDMAP"

// mountRootfsUserns mounts the rootfs of a container in a user namespace:
// through idmapped mounts of the layers where the kernel and filesystem
// have them, otherwise from copies of the layers with shifted owners.
func (e *Engine) mountRootfsUserns(img *image.Image, lowers []string, dir string, m *idMap) (string, error) {
	rootUID, rootGID := int(hostID(m.UIDs, 0)), int(hostID(m.GIDs, 0))
	if os.Getenv(noIDMapEnv) != "1" {
		rootfs, err := mountIDMapped(lowers, dir, m, rootUID, rootGID)
		if !errors.Is(err, layer.ErrNoIDMap) {
			return rootfs, err
		}
		slog.Debug("userns-remap: no idmapped mounts, using shifted copies of the layers", "err", err)
	}
	shifted, err := e.Images.ShiftedLayerDirs(img, idShift(m))
	if err != nil {
		return "", fmt.Errorf("userns-remap: %w", err)
	}
	rootfs, err := layer.MountRootfsShifted(shifted, dir, rootUID, rootGID)
	if err != nil {
		return "", fmt.Errorf("userns-remap: %w", err)
	}
	return rootfs, nil
}

// mountIDMapped mounts the layers through idmapped mounts of a user
// namespace with the container's mapping.
func mountIDMapped(lowers []string, dir string, m *idMap, rootUID, rootGID int) (string, error) {
	fd, err := usernsFD(m)
	if err != nil {
		return "", fmt.Errorf("userns-remap: %w", err)
	}
	defer unix.Close(fd)
	rootfs, err := layer.MountRootfsIDMapped(lowers, dir, fd, rootUID, rootGID)
	if err != nil {
		return "", fmt.Errorf("userns-remap: %w", err)
	}
	return rootfs, nil
}

// idShift is the mapping as the layer store applies it to a copy; its
// key is a digest of the mapping, so containers with the same mapping
// share the copies.
func idShift(m *idMap) layer.IDShift {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return layer.IDShift{
		Key: hex.EncodeToString(sum[:8]),
		UID: func(id uint32) uint32 { return hostID(m.UIDs, id) },
		GID: func(id uint32) uint32 { return hostID(m.GIDs, id) },
	}
}
