package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// IDShift maps the owners of a layer's files (as stored, ids of the
// image) onto the host ids of a user namespace, for kernels or
// filesystems without idmapped mounts.
type IDShift struct {
	// Key names the mapping in the cache: two shifts with the same key
	// must map every id the same way.
	Key      string
	UID, GID func(id uint32) uint32
}

// ShiftedDir returns the lowerdir of a copy of the layer whose owners are
// shifted by sh, making the copy on first use. Copies live inside the
// layer's own directory (shifted/KEY/diff), so they are reused by every
// container with the same mapping and removed with the layer.
func (s *Store) ShiftedDir(chainID digest.Digest, sh IDShift) (string, error) {
	if !s.Has(chainID) {
		return "", fmt.Errorf("shift layer: %w: %s", ErrNotFound, chainID)
	}
	dir := filepath.Join(s.layerDir(chainID), "shifted", sh.Key)
	diff := filepath.Join(dir, "diff")
	if _, err := os.Lstat(diff); err == nil {
		return diff, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", fmt.Errorf("shift layer %s: %w", chainID.Encoded()[:12], err)
	}
	tmp, err := os.MkdirTemp(s.tmpDir(), strconv.Itoa(os.Getpid())+"-shift-")
	if err != nil {
		return "", fmt.Errorf("shift layer %s: %w", chainID.Encoded()[:12], err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place
	if err := copyShifted(s.Dir(chainID), filepath.Join(tmp, "diff"), sh); err != nil {
		return "", fmt.Errorf("shift layer %s: %w", chainID.Encoded()[:12], err)
	}
	if err := syncfs(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
		return "", fmt.Errorf("shift layer %s: %w", chainID.Encoded()[:12], err)
	}
	// On EEXIST another process made the same copy meanwhile: use theirs.
	return diff, nil
}

// shifter copies a tree, shifting owners. Hard links stay hard links:
// inodes seen with several links are remembered by their number.
type shifter struct {
	sh    IDShift
	links map[uint64]string
}

func copyShifted(src, dst string, sh IDShift) error {
	c := &shifter{sh: sh, links: map[uint64]string{}}
	return c.copy(src, dst)
}

// copy copies one entry, and a directory's entries below it. The
// metadata is applied after the content, in an order that keeps it:
// chown clears setuid/setgid bits and security.capability, so mode and
// xattrs come after it, and a directory's times come after its entries.
func (c *shifter) copy(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 {
		if first, ok := c.links[st.Ino]; ok {
			return os.Link(first, dst)
		}
		c.links[st.Ino] = dst
	}
	if err := c.create(src, dst, &st); err != nil {
		return err
	}
	return c.setMeta(src, dst, &st)
}

func (c *shifter) create(src, dst string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.copyDir(src, dst)
	case unix.S_IFREG:
		return copyFileData(src, dst)
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	default:
		// Devices, fifos, sockets; overlay's whiteouts are 0/0 character
		// devices and stay so, whatever their owner.
		return unix.Mknod(dst, st.Mode, int(st.Rdev))
	}
}

func (c *shifter) copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := c.copy(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFileData copies a regular file's content: a reflink where the
// filesystem shares blocks, otherwise copy_file_range (which os.File's
// ReadFrom uses), so the data does not pass through this process.
func copyFileData(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) != nil {
		if _, err := out.ReadFrom(in); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

func (c *shifter) setMeta(src, dst string, st *unix.Stat_t) error {
	uid, gid := c.sh.UID(st.Uid), c.sh.GID(st.Gid)
	if err := os.Lchown(dst, int(uid), int(gid)); err != nil {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
	}
	if err := c.copyXattrs(src, dst, isLink); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// copyXattrs copies every extended attribute (overlay's opaque marks,
// file capabilities, ACLs, SELinux labels), shifting the ids that some
// of them hold.
func (c *shifter) copyXattrs(src, dst string, isLink bool) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		v, err := getXattr(src, n)
		if err != nil {
			return fmt.Errorf("%s: xattr %s: %w", src, n, err)
		}
		v = c.shiftXattr(n, v)
		if err := unix.Lsetxattr(dst, n, v, 0); err != nil {
			// Symlinks take no user.* attributes, and a filesystem may
			// refuse a namespace: what extraction could not set either.
			if isLink || errors.Is(err, unix.ENOTSUP) {
				continue
			}
			return fmt.Errorf("%s: xattr %s: %w", dst, n, err)
		}
	}
	return nil
}

func listXattrs(path string) ([]string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: list xattrs: %w", path, err)
		}
		var names []string
		for start := 0; start < n; {
			end := start
			for end < n && buf[end] != 0 {
				end++
			}
			if end > start {
				names = append(names, string(buf[start:end]))
			}
			start = end + 1
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	buf := make([]byte, 128)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
