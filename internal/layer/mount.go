package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// maxOptions is the most mount(2) accepts as option data: one page.
var maxOptions = os.Getpagesize() - 1

// MountRootfs mounts a container's root filesystem at ctrDir/merged and
// returns that path: the image's layer directories (top-most first)
// read-only below, ctrDir/upper as the container's own writable layer,
// so two containers of one image never see each other's writes. An
// existing upper dir (a restarted container) is reused; an existing
// mount is returned as is. On failure it removes what it created.
func MountRootfs(lowerDirs []string, ctrDir string) (rootfs string, err error) {
	return mountRootfs(lowerDirs, ctrDir, false)
}

// MountTransientRootfs is MountRootfs for a container whose writable layer
// dies with it (--rm): the overlay is mounted "volatile", so neither writes
// nor the unmount wait for the disk (overlay would otherwise sync the
// upper file system on unmount, milliseconds per container). After a crash
// such an upper layer is unusable, which does not matter: it is removed.
func MountTransientRootfs(lowerDirs []string, ctrDir string) (string, error) {
	return mountRootfs(lowerDirs, ctrDir, true)
}

func mountRootfs(lowerDirs []string, ctrDir string, volatile bool) (rootfs string, err error) {
	if len(lowerDirs) == 0 {
		return "", errors.New("mount rootfs: the image has no layers")
	}
	upper, work, merged := rootfsDirs(ctrDir)
	if IsMounted(merged) {
		return merged, nil
	}
	var created []string
	defer func() {
		if err != nil {
			for i := len(created) - 1; i >= 0; i-- {
				_ = os.RemoveAll(created[i])
			}
		}
	}()
	for _, d := range []string{ctrDir, upper, work, merged} {
		if _, statErr := os.Stat(d); statErr == nil {
			continue
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", fmt.Errorf("mount rootfs: %w", err)
		}
		created = append(created, d)
	}
	if err := mountOverlay(lowerDirs, upper, work, merged, volatile); err != nil {
		return "", fmt.Errorf("mount rootfs of %s: %w", ctrDir, err)
	}
	return merged, nil
}

func rootfsDirs(ctrDir string) (upper, work, merged string) {
	return filepath.Join(ctrDir, "upper"), filepath.Join(ctrDir, "work"), filepath.Join(ctrDir, "merged")
}

// mountOverlay mounts overlayfs. When the plain option string would not
// fit in a page (many layers, long paths) or a path holds a character
// the option syntax reserves, each directory is named by a short
// /proc/self/fd/N link to a handle opened here instead: the kernel
// resolves those links while mounting, with no chdir (which would move
// every thread of the process) and no extra symlink tree to maintain.
func mountOverlay(lowers []string, upper, work, merged string, volatile bool) error {
	opts := overlayOptions(lowers, upper, work, volatile)
	if len(opts) > maxOptions || hasReserved(append([]string{upper, work}, lowers...)) {
		var closeAll func()
		var err error
		opts, closeAll, err = fdOptions(lowers, upper, work, volatile)
		if err != nil {
			return err
		}
		defer closeAll()
		if len(opts) > maxOptions {
			return fmt.Errorf("overlay options for %d layers exceed %d bytes even in short form", len(lowers), maxOptions)
		}
	}
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay (%d layers): %w", len(lowers), err)
	}
	return nil
}

func overlayOptions(lowers []string, upper, work string, volatile bool) string {
	opts := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	// Like Docker: without the inode index an upper dir stays usable if
	// a lower dir is ever recreated (the index pins lower file handles).
	if _, err := os.Stat("/sys/module/overlay/parameters/index"); err == nil {
		opts += ",index=off"
	}
	if volatile {
		opts += ",volatile"
	}
	return opts
}

func hasReserved(paths []string) bool {
	for _, p := range paths {
		if strings.ContainsAny(p, ",:\\") {
			return true
		}
	}
	return false
}

// fdOptions opens every directory and builds the options from their
// /proc/self/fd names. The returned func closes the handles.
func fdOptions(lowers []string, upper, work string, volatile bool) (string, func(), error) {
	var fds []int
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	name := func(dir string) (string, error) {
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", fmt.Errorf("open %s: %w", dir, err)
		}
		fds = append(fds, fd)
		return "/proc/self/fd/" + strconv.Itoa(fd), nil
	}
	short := make([]string, 0, len(lowers)+2)
	for _, d := range append(append([]string{}, lowers...), upper, work) {
		n, err := name(d)
		if err != nil {
			closeAll()
			return "", nil, err
		}
		short = append(short, n)
	}
	k := len(lowers)
	return overlayOptions(short[:k], short[k], short[k+1], volatile), closeAll, nil
}

// UnmountRootfs unmounts ctrDir/merged (lazily if it is busy) and removes
// the merged and work dirs. The upper dir stays: it is the container's
// data, needed by a later start, commit or diff; RemoveRootfs drops it.
// It is idempotent.
func UnmountRootfs(ctrDir string) error {
	_, work, merged := rootfsDirs(ctrDir)
	if err := unmount(merged); err != nil {
		return fmt.Errorf("unmount rootfs of %s: %w", ctrDir, err)
	}
	// Remove, not RemoveAll: should merged still be a mount point, this
	// fails instead of deleting the container's files through it.
	if err := os.Remove(merged); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unmount rootfs of %s: %w", ctrDir, err)
	}
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("unmount rootfs of %s: %w", ctrDir, err)
	}
	return nil
}

// RemoveRootfs unmounts the rootfs and removes all its dirs, the upper
// dir included. It is idempotent.
func RemoveRootfs(ctrDir string) error {
	if err := UnmountRootfs(ctrDir); err != nil {
		return err
	}
	upper, _, _ := rootfsDirs(ctrDir)
	if err := os.RemoveAll(upper); err != nil {
		return fmt.Errorf("remove rootfs of %s: %w", ctrDir, err)
	}
	return nil
}

// unmount removes every mount stacked on path.
func unmount(path string) error {
	for range 16 {
		err := unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil:
			continue // there may be another mount below
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not (or no longer) a mount point
		case errors.Is(err, unix.EBUSY):
			// A process still has it open: detach now, the kernel
			// frees it when the last user goes.
			if err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return fmt.Errorf("%s: still mounted after 16 unmounts", path)
}

// IsMounted reports whether path is a mount point.
func IsMounted(path string) bool {
	ok, err := mountinfo.Mounted(path)
	return err == nil && ok
}
