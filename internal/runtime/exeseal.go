package runtime

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// sealedFD is a read-only handle to the cocin binary that the container's
// processes are executed from. A process in a container that reaches
// /proc/PID/exe of our init (CVE-2019-5736) finds a file it cannot open for
// writing: it lives on a detached, read-only overlay mount (runc 1.2's cheap
// method) or, where that is unavailable, in a sealed memfd copy.
var sealedFD = sync.OnceValues(sealExecutable)

// SealedExecutable returns the path through which the sealed binary is
// executed ("/proc/self/fd/N"). The descriptor stays open for the life of
// the process and is close-on-exec.
func SealedExecutable() (string, error) {
	fd, err := sealedFD()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
}

func sealExecutable() (int, error) {
	fd, err := openSealed()
	if err != nil {
		return -1, err
	}
	// Move the descriptor high so that exec.Cmd's ExtraFiles (fds 3..6 in
	// the child) never overwrite it before execve reads the path.
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 200)
	unix.Close(fd)
	if err != nil {
		return -1, fmt.Errorf("seal executable: dup: %w", err)
	}
	return high, nil
}

func openSealed() (int, error) {
	// A process that was itself executed from a sealed copy (a monitor)
	// reuses it: its /proc/self/exe is that read-only file.
	self, err := unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open own executable: %w", err)
	}
	if isSealed(self) {
		return self, nil
	}
	exe, err := os.Executable()
	if err == nil {
		var fd int
		if fd, err = sealByOverlay(exe); err == nil {
			unix.Close(self)
			return fd, nil
		}
	}
	fd, merr := sealByMemfd(self)
	unix.Close(self)
	if merr != nil {
		return -1, fmt.Errorf("seal executable: overlay: %v; memfd: %w", err, merr)
	}
	return fd, nil
}

// isSealed reports whether fd is on a read-only mount or a write-sealed
// memfd.
func isSealed(fd int) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) == nil && st.Flags&unix.ST_RDONLY != 0 {
		return true
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	return err == nil && seals&unix.F_SEAL_WRITE != 0
}

// sealByOverlay mounts the binary's directory as a detached read-only overlay
// and opens the binary through it. An overlay without an upper layer needs two
// lower layers that do not overlap; the second is an empty, detached tmpfs,
// reached through its descriptor, so it can overlap nothing. Neither mount is
// attached to any namespace: they vanish with the last descriptor. This costs
// about 0.2 ms, against 10 ms for a memfd copy of the binary.
func sealByOverlay(exe string) (int, error) {
	empty, err := detachedMount("tmpfs", nil)
	if err != nil {
		return -1, fmt.Errorf("empty tmpfs: %w", err)
	}
	defer unix.Close(empty)
	lowers := [][2]string{{"lowerdir+", filepath.Dir(exe)}, {"lowerdir+", fmt.Sprintf("/proc/self/fd/%d", empty)}}
	mfd, err := detachedMount("overlay", lowers)
	if err != nil {
		return -1, fmt.Errorf("overlay: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, filepath.Base(exe), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open sealed binary: %w", err)
	}
	return fd, nil
}

// detachedMount creates a read-only mount of fstype that is attached
// nowhere and returns its descriptor.
func detachedMount(fstype string, opts [][2]string) (int, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsfd)
	for _, kv := range opts {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("fsconfig %s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	return unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
}

// sealByMemfd copies the binary into a sealed memfd: slower (a copy of the
// whole binary per command) but available everywhere.
func sealByMemfd(self int) (int, error) {
	src, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", self))
	if err != nil {
		return -1, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("cocin", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, err
	}
	dst := os.NewFile(uintptr(fd), "memfd:cocin")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return -1, err
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return -1, err
	}
	nfd, err := unix.Dup(fd)
	dst.Close()
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(nfd)
	return nfd, nil
}
