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
	exe, err := os.Executable()
	if err != nil {
		return -1, fmt.Errorf("find own executable: %w", err)
	}
	fd, oerr := sealByOverlay(exe)
	if oerr != nil {
		var merr error
		if fd, merr = sealByMemfd(exe); merr != nil {
			return -1, fmt.Errorf("seal executable: overlay: %v; memfd: %w", oerr, merr)
		}
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

// sealByOverlay mounts the binary's directory as a detached read-only overlay
// and opens the binary through it. An overlay without an upper layer needs two
// lower ones that do not overlap, so an empty temporary directory is the
// second; it can go as soon as the mount exists. The mount is attached to no
// namespace and disappears with the last descriptor.
func sealByOverlay(exe string) (int, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsfd)
	empty, err := os.MkdirTemp("", "cocin-seal-")
	if err != nil {
		return -1, err
	}
	defer os.Remove(empty)
	for _, kv := range [][2]string{{"lowerdir+", filepath.Dir(exe)}, {"lowerdir+", empty}} {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("fsconfig %s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, filepath.Base(exe), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open sealed binary: %w", err)
	}
	return fd, nil
}

// sealByMemfd copies the binary into a sealed memfd: slower (a copy of the
// whole binary per command) but available everywhere.
func sealByMemfd(exe string) (int, error) {
	src, err := os.Open(exe)
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
