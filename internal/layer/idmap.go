package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNoIDMap reports that the kernel or the layers' filesystem cannot
// make idmapped mounts (mount_setattr refuses MOUNT_ATTR_IDMAP).
var ErrNoIDMap = errors.New("idmapped mounts are not supported")

// MountRootfsIDMapped mounts a rootfs for a container in a user namespace:
// each read-only layer is seen through an idmapped mount (mount_setattr
// MOUNT_ATTR_IDMAP with usernsFD), so the image's root-owned files belong
// to the container's root, and the writable layer is owned by the host
// ids of that root. The idmapped mounts only live while overlayfs is
// mounted on them: overlayfs keeps private clones of its layers, so they
// are detached right away and nothing is left to clean up but the overlay.
func MountRootfsIDMapped(lowerDirs []string, ctrDir string, usernsFD, rootUID, rootGID int) (rootfs string, err error) {
	_, _, merged := rootfsDirs(ctrDir)
	if IsMounted(merged) {
		return merged, nil
	}
	tmp := filepath.Join(ctrDir, "idmap")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	var mapped []string
	defer func() {
		// Remove, never RemoveAll: a mount that failed to detach must not
		// take the layer's files with it.
		for _, m := range mapped {
			if unix.Unmount(m, unix.MNT_DETACH) == nil {
				_ = os.Remove(m)
			}
		}
		_ = os.Remove(tmp)
	}()
	for i, l := range lowerDirs {
		dst := filepath.Join(tmp, strconv.Itoa(i))
		if err := idmapMount(l, dst, usernsFD); err != nil {
			return "", fmt.Errorf("idmapped mount of layer %s: %w", filepath.Base(l), err)
		}
		mapped = append(mapped, dst)
	}
	return mountOwnedOverlay(mapped, ctrDir, rootUID, rootGID)
}

// MountRootfsShifted mounts a rootfs for a container in a user namespace
// from layers whose owners are shifted on disk already (ShiftedDir): the
// fallback where idmapped mounts are not available.
func MountRootfsShifted(shiftedLowers []string, ctrDir string, rootUID, rootGID int) (string, error) {
	_, _, merged := rootfsDirs(ctrDir)
	if IsMounted(merged) {
		return merged, nil
	}
	return mountOwnedOverlay(shiftedLowers, ctrDir, rootUID, rootGID)
}

// mountOwnedOverlay mounts the overlay with its writable layer owned by
// the host ids of the container's root.
func mountOwnedOverlay(lowers []string, ctrDir string, rootUID, rootGID int) (string, error) {
	upper, work, merged := rootfsDirs(ctrDir)
	for _, d := range []string{ctrDir, upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	for _, d := range []string{upper, work} {
		if err := os.Lchown(d, rootUID, rootGID); err != nil {
			return "", err
		}
	}
	if err := mountOverlay(lowers, upper, work, merged, false); err != nil {
		return "", fmt.Errorf("mount rootfs of %s: %w", ctrDir, err)
	}
	// overlayfs gives a fresh upper root the on-disk owner of the lower
	// root (host root), whatever the idmapping: own it again through the
	// overlay so the container's root owns "/".
	if err := os.Lchown(merged, rootUID, rootGID); err != nil {
		_ = unmount(merged)
		return "", fmt.Errorf("mount rootfs of %s: %w", ctrDir, err)
	}
	return merged, nil
}

// idmapMount clones src's mount, idmaps the clone and attaches it at dst.
func idmapMount(src, dst string, usernsFD int) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("%w: open_tree: %w", ErrNoIDMap, err)
		}
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(usernsFD)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("%w: mount_setattr: %w", ErrNoIDMap, err)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}
