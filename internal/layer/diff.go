package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteDiff writes a container's overlay upper directory as an OCI layer
// tar: what `commit` stores on top of the image's layers. Overlay's
// whiteouts (0/0 character devices) become .wh.<name> entries and opaque
// directories (trusted.overlay.opaque=y) get a .wh..wh..opq entry, the
// inverse of what Unpack does. Hard links inside the upper directory stay
// hard links; other device nodes are left out, as Unpack would drop them.
// Paths in placeholders (container paths such as /etc/hosts) are left out
// when they are empty files: mount points the runtime made for files it
// bind-mounts, which are not the container's changes.
func WriteDiff(w io.Writer, upper string, placeholders ...string) error {
	tw := tar.NewWriter(w)
	d := &differ{tw: tw, root: upper, inodes: map[uint64]string{}, skip: map[string]bool{}}
	for _, p := range placeholders {
		d.skip[strings.TrimPrefix(path.Clean("/"+p), "/")] = true
	}
	if err := filepath.WalkDir(upper, d.entry); err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	return tw.Close()
}

type differ struct {
	tw     *tar.Writer
	root   string
	inodes map[uint64]string // inode → first tar name, for hard links
	skip   map[string]bool   // placeholder files, by tar name
}

func (d *differ) entry(p string, _ fs.DirEntry, err error) error {
	if err != nil || p == d.root {
		return err
	}
	rel, err := filepath.Rel(d.root, p)
	if err != nil {
		return err
	}
	name := filepath.ToSlash(rel)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		if st.Rdev == 0 {
			return d.whiteout(path.Join(path.Dir(name), whiteoutPrefix+path.Base(name)))
		}
		return nil
	case unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		return nil // not layer content (see Unpack)
	case unix.S_IFREG:
		if st.Size == 0 && d.skip[name] {
			return nil
		}
	}
	return d.file(p, name, &st)
}

func (d *differ) file(p, name string, st *unix.Stat_t) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Uname, hdr.Gname = name, "", ""
	hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	hdr.Format = tar.FormatPAX
	if fi.Mode().IsRegular() && st.Nlink > 1 {
		if first, ok := d.inodes[st.Ino]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return d.tw.WriteHeader(hdr)
		}
		d.inodes[st.Ino] = name
	}
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if fi.IsDir() {
		return d.opaque(p, name)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(d.tw, f)
	return err
}

// opaque adds the opaque marker of a directory that overlay made opaque
// (it replaced a lower directory of the same name).
func (d *differ) opaque(p, name string) error {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	if err != nil {
		return err
	}
	if n == 1 && buf[0] == 'y' {
		return d.whiteout(path.Join(name, whiteoutOpaque))
	}
	return nil
}

func (d *differ) whiteout(name string) error {
	return d.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Format: tar.FormatPAX})
}
