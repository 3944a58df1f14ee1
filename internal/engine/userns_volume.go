package engine

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/cocin-dev/cocin/internal/volume"
)

// usernsVolume lets a remapped container use volume v (Docker's
// behaviour under userns-remap): the volume's directories become
// traversable by the container's root (the store 0711, the volume
// 0710 with the root's group) and a volume that holds nothing yet and
// still belongs to the host's root, as volume create and an image
// without content at the target leave it, is given to the container's
// root. Bind mounts are not touched: they keep their host owners.
// rootfs is the container's merged dir; its parent holds the mapping.
func usernsVolume(rootfs string, v *volume.Volume) error {
	m, err := loadIDMap(filepath.Dir(rootfs))
	if m == nil || err != nil {
		return err
	}
	uid, gid := int(hostID(m.UIDs, 0)), int(hostID(m.GIDs, 0))
	data := v.Mountpoint
	volDir := filepath.Dir(data)
	if err := os.Chmod(filepath.Dir(volDir), 0o711); err != nil {
		return err
	}
	if err := os.Lchown(volDir, 0, gid); err != nil {
		return err
	}
	if err := os.Chmod(volDir, 0o710); err != nil {
		return err
	}
	if !unusedByHostRoot(data) {
		return nil
	}
	return os.Lchown(data, uid, gid)
}

// unusedByHostRoot reports whether dir is empty and owned by uid 0.
func unusedByHostRoot(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}
