package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	paxXattr       = "SCHILY.xattr."
	overlayXattr   = "trusted.overlay."
	opaqueXattr    = "trusted.overlay.opaque"
)

// errUnsafe marks a layer entry that would write outside the layer.
var errUnsafe = errors.New("unsafe path in layer")

// extractor writes tar entries below root. Every entry is created by an
// *at system call relative to a handle of its parent directory, and that
// handle is always resolved inside root, so no symlink in the layer can
// redirect a write to the host.
type extractor struct {
	root     *os.File // the layer's diff directory
	rootPath string
	size     int64

	// The parent handle of the previous entry: tar streams list a
	// directory's entries together, so this saves most lookups. It is
	// dropped whenever an entry replaces something, as that may have
	// changed what the name resolves to.
	lastName   string
	lastParent *os.File

	dirTimes []dirTime // applied last: creating entries bumps a dir's mtime

	// plain extracts files as they are (cp, volume copy-up): no whiteout
	// conversion, so ".wh." names and 0/0 devices are not overlay's.
	plain bool
}

type dirTime struct {
	name         string
	atime, mtime time.Time
}

// extract unpacks tr into dir and returns the bytes of regular file
// content written.
func extract(dir string, tr *tar.Reader) (int64, error) {
	root, err := os.OpenFile(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	x := &extractor{root: root, rootPath: dir}
	defer x.close()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return 0, fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	return x.size, x.applyDirTimes()
}

func (x *extractor) close() {
	x.forgetParent()
	x.root.Close()
}

func (x *extractor) forgetParent() {
	if x.lastParent != nil && x.lastParent != x.root {
		x.lastParent.Close()
	}
	x.lastName, x.lastParent = "", nil
}

// cleanName turns a tar entry name into a relative slash path ("" for the
// root itself), refusing absolute names and any ".." component rather
// than guessing what they were meant to be.
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute name %q", errUnsafe, name)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return "", fmt.Errorf("%w: %q contains \"..\"", errUnsafe, name)
		default:
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/"), nil
}

// parent returns a handle of the directory dir (relative to root),
// creating missing directories, with symlinks resolved inside root.
func (x *extractor) parent(dir string) (*os.File, error) {
	if dir == "." || dir == "" {
		return x.root, nil
	}
	if x.lastParent != nil && x.lastName == dir {
		return x.lastParent, nil
	}
	x.forgetParent()
	f, err := pathrs.MkdirAllHandle(x.root, dir, 0o755)
	if err != nil && errors.Is(err, unix.ENOTDIR) {
		f, err = x.parentBehindDangling(dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("parent directory: %w", err)
	}
	x.lastName, x.lastParent = dir, f
	return f, nil
}

// parentBehindDangling handles a parent path through a symlink whose
// target does not exist yet, which MkdirAllHandle refuses. Like Docker
// and containerd, it creates the target, read as a path inside root:
// SecureJoin names it, and MkdirAllHandle then walks to it safely, so a
// symlink swapped in meanwhile still cannot lead out.
func (x *extractor) parentBehindDangling(dir string, orig error) (*os.File, error) {
	resolved, err := securejoin.SecureJoin(x.rootPath, dir)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(x.rootPath, resolved)
	if err != nil || rel == filepath.Clean(dir) {
		return nil, orig // no symlink involved: a real non-directory
	}
	return pathrs.MkdirAllHandle(x.root, rel, 0o755)
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		return x.rootEntry(hdr)
	}
	dir, base := path.Split(name)
	if strings.HasPrefix(base, whiteoutPrefix) && !x.plain {
		return x.whiteout(dir, base, hdr)
	}
	parent, err := x.parent(dir)
	if err != nil {
		return err
	}
	created, err := x.create(parent, base, hdr, r)
	if err != nil || !created || hdr.Typeflag == tar.TypeLink {
		// A hard link shares its target's inode and metadata; setting
		// them again would also clear a setuid bit through chown.
		return err
	}
	if err := setMeta(parent, base, hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirTimes = append(x.dirTimes, dirTime{name, hdr.AccessTime, hdr.ModTime})
		return nil
	}
	return setTimes(parent, base, hdr.AccessTime, hdr.ModTime)
}

// create makes the entry's file system object. It reports false for an
// entry it skips on purpose (devices, unknown types).
func (x *extractor) create(parent *os.File, base string, hdr *tar.Header, r io.Reader) (bool, error) {
	if err := x.clear(parent, base, hdr.Typeflag == tar.TypeDir); err != nil {
		return false, err
	}
	fd := int(parent.Fd())
	switch hdr.Typeflag {
	case tar.TypeDir:
		err := unix.Mkdirat(fd, base, 0o700)
		if errors.Is(err, unix.EEXIST) { // a directory seen before: update it
			err = nil
		}
		return true, err
	case tar.TypeReg:
		return true, x.writeFile(parent, base, r)
	case tar.TypeSymlink:
		return true, unix.Symlinkat(hdr.Linkname, fd, base)
	case tar.TypeLink:
		return true, x.hardlink(parent, base, hdr.Linkname)
	case tar.TypeFifo:
		return true, unix.Mknodat(fd, base, unix.S_IFIFO|0o600, 0)
	case tar.TypeChar, tar.TypeBlock:
		if hdr.Typeflag == tar.TypeChar && hdr.Devmajor == 0 && hdr.Devminor == 0 && !x.plain {
			return true, mkWhiteout(parent, base) // already in overlay's format
		}
		return false, nil // see the package doc: devices are never created
	default:
		return false, nil // global headers and the like carry no file
	}
}

// clear removes what an entry replaces, except a directory that a
// directory entry only updates. Nothing is ever followed: an existing
// symlink is removed, not written through.
func (x *extractor) clear(parent *os.File, base string, isDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	existingDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if existingDir && isDir {
		return nil
	}
	if x.lastParent != parent {
		x.forgetParent()
	}
	if existingDir {
		// RemoveAll walks with openat(O_NOFOLLOW), below a path whose
		// only followed link is the parent handle's /proc entry.
		return os.RemoveAll(procPath(parent, base))
	}
	return unix.Unlinkat(int(parent.Fd()), base, 0)
}

func (x *extractor) writeFile(parent *os.File, base string, r io.Reader) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	n, err := io.Copy(f, r)
	x.size += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hardlink links base to an earlier entry of this layer. The target is
// looked up inside root like any entry name, and linkat without
// AT_SYMLINK_FOLLOW links a symlink itself rather than what it names.
func (x *extractor) hardlink(parent *os.File, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return fmt.Errorf("hard link: %w", err)
	}
	if target == "" {
		return fmt.Errorf("%w: hard link to the layer root", errUnsafe)
	}
	tdir, tbase := path.Split(target)
	tparent := x.root
	if tdir != "" {
		tparent, err = pathrs.OpenatInRoot(x.root, tdir)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", linkname, err)
		}
		defer tparent.Close()
	}
	if err := unix.Linkat(int(tparent.Fd()), tbase, int(parent.Fd()), base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	return nil
}

// whiteout converts an OCI whiteout entry to overlay's format.
func (x *extractor) whiteout(dir, base string, hdr *tar.Header) error {
	if base == whiteoutOpaque {
		d, err := x.parent(dir)
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(int(d.Fd()), opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark %q opaque: %w", dir, err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other AUFS bookkeeping: meaningless on overlay
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return fmt.Errorf("%w: bad whiteout %q", errUnsafe, base)
	}
	parent, err := x.parent(dir)
	if err != nil {
		return err
	}
	if err := x.clear(parent, target, false); err != nil {
		return err
	}
	if err := mkWhiteout(parent, target); err != nil {
		return err
	}
	if err := unix.Fchownat(int(parent.Fd()), target, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	return setTimes(parent, target, hdr.AccessTime, hdr.ModTime)
}

// mkWhiteout creates overlay's whiteout: a 0/0 character device.
func mkWhiteout(parent *os.File, name string) error {
	if err := unix.Mknodat(int(parent.Fd()), name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %q: %w", name, err)
	}
	return nil
}

// rootEntry applies a "./" entry's metadata to the layer root itself.
func (x *extractor) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: the layer root is not a directory", errUnsafe)
	}
	fd := int(x.root.Fd())
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, tarMode(hdr)); err != nil {
		return err
	}
	for k, v := range xattrs(hdr) {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	x.dirTimes = append(x.dirTimes, dirTime{"", hdr.AccessTime, hdr.ModTime})
	return nil
}

// setMeta sets owner, mode and xattrs of parent/base without following
// a symlink at base. The mode comes after the owner, as chown clears the
// setuid and setgid bits.
func setMeta(parent *os.File, base string, hdr *tar.Header) error {
	fd := int(parent.Fd())
	if err := unix.Fchownat(fd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := chmodNoFollow(parent, base, tarMode(hdr)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range xattrs(hdr) {
		err := unix.Lsetxattr(procPath(parent, base), k, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	return nil
}

// chmodNoFollow changes the mode of parent/base through an O_PATH handle
// opened with O_NOFOLLOW, because fchmodat cannot refuse symlinks on
// kernels before 6.6.
func chmodNoFollow(parent *os.File, base string, mode uint32) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

func setTimes(parent *os.File, base string, atime, mtime time.Time) error {
	ts := timespecs(atime, mtime)
	if err := unix.UtimesNanoAt(int(parent.Fd()), base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func timespecs(atime, mtime time.Time) []unix.Timespec {
	if atime.IsZero() {
		atime = mtime
	}
	return []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
}

// applyDirTimes sets directory times once all entries exist, deepest
// last-seen first, each directory looked up inside root again.
func (x *extractor) applyDirTimes() error {
	x.forgetParent()
	for i := len(x.dirTimes) - 1; i >= 0; i-- {
		dt := x.dirTimes[i]
		f := x.root
		if dt.name != "" {
			var err error
			if f, err = pathrs.OpenatInRoot(x.root, dt.name); err != nil {
				return fmt.Errorf("%s: %w", dt.name, err)
			}
		}
		err := unix.UtimesNano(procPath(f, ""), timespecs(dt.atime, dt.mtime))
		if f != x.root {
			f.Close()
		}
		if err != nil {
			return fmt.Errorf("%s: set times: %w", dt.name, err)
		}
	}
	return nil
}

// procPath names base inside the directory handle f through /proc, so
// that the handle, not a path that might have changed, is what counts.
func procPath(f *os.File, base string) string {
	p := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if base != "" {
		p += "/" + base
	}
	return p
}

func tarMode(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// xattrs returns the entry's extended attributes except overlay's own.
func xattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok || strings.HasPrefix(name, overlayXattr) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = v
	}
	return out
}
