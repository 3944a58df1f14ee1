package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/cocin-dev/cocin/internal/layer"
	"golang.org/x/sys/unix"
)

// tarTree writes the file base (inside the directory handle parent) and,
// for a directory, everything below it, as entries named name/... Every
// step is an *at call on a handle with O_NOFOLLOW: a symlink is written
// as a link, never followed, so a container changing its files while we
// read cannot lead the walk outside it. chown0 makes every entry owned
// by root (Docker's cp into a container).
func tarTree(tw *tar.Writer, parent *os.File, base, name string, chown0 bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr, err := tarHeader(parent, base, name, &st)
	if err != nil || hdr == nil {
		return err
	}
	if chown0 {
		hdr.Uid, hdr.Gid = 0, 0
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		return copyFileAt(tw, parent, base, hdr.Size)
	case tar.TypeDir:
		return tarDirEntries(tw, parent, base, name, chown0)
	}
	return nil
}

func tarDirEntries(tw *tar.Writer, parent *os.File, base, name string, chown0 bool) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dir := os.NewFile(uintptr(fd), name)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := tarTree(tw, dir, n, path.Join(name, n), chown0); err != nil {
			return err
		}
	}
	return nil
}

// tarHeader describes one file; sockets (and what tar cannot hold) give
// nil and are skipped, as Docker does.
func tarHeader(parent *os.File, base, name string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := &tar.Header{
		Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		if name != "." {
			hdr.Name += "/"
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(int(parent.Fd()), base, buf)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		return nil, nil
	}
	return hdr, nil
}

func copyFileAt(w io.Writer, parent *os.File, base string, size int64) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	// The header promised size bytes: a file that shrank meanwhile is
	// padded by the tar writer's error, one that grew is cut.
	_, err = io.CopyN(w, f, size)
	return err
}

// copyTree copies base (inside parent) into the directory dst under the
// name name through a tar stream: the same safe reader and extractor as
// cp, with owners and modes kept.
func copyTree(parent *os.File, base string, dst *os.File, name string, chown0 bool) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tarTree(tw, parent, base, name, chown0)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := layer.ExtractTar(dst, pr)
	pr.CloseWithError(errors.New("extraction ended"))
	return err
}
