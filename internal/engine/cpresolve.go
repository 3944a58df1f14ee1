package engine

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/cocin-dev/cocin/internal/state"
	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the links one lookup follows, as Linux does (ELOOP).
const maxSymlinks = 40

// containerView is a container's filesystem as its processes see it: the
// root with the volumes and bind mounts over it. cp resolves paths in it
// because the container's mounts are not visible in the host's view of
// its root: a path reaching a volume through a symlink must land in the
// volume, not in the layer under the mount point.
type containerView struct {
	rootfs string
	mounts []state.Mount
}

// viewOf builds the view of c with its root at rootfs. The runtime put
// each mount where its destination resolved, in order, with the earlier
// mounts in place: a volume on /data, with /data -> /etc in the image, is
// on /etc. Each destination is resolved the same way here.
func viewOf(c *state.Container, rootfs string) containerView {
	v := containerView{rootfs: rootfs}
	for _, m := range c.Mounts {
		if d, err := v.resolve(m.Destination, true); err == nil {
			m.Destination = d
		}
		v.mounts = append(v.mounts, m)
	}
	return v
}

// errTmpfs: a tmpfs exists only in the container's mount namespace, so
// cp cannot reach its files; refusing beats reading or writing the layer
// hidden under it.
var errTmpfs = errors.New("is on a tmpfs mount, which cp cannot reach")

// treeOf returns the tree holding the symlink-free container path p
// (absolute and clean): the mount with the longest destination at or
// above p, or the root (mount nil), and p relative to that tree.
func (v containerView) treeOf(p string) (fsTree, string, *state.Mount) {
	tree, rel := fsTree{root: v.rootfs}, p
	var mount *state.Mount
	for i := range v.mounts {
		m := &v.mounts[i]
		dest := path.Clean("/" + m.Destination)
		if mount != nil && len(dest) <= len(path.Clean("/"+mount.Destination)) {
			continue
		}
		if p == dest || strings.HasPrefix(p, dest+"/") {
			tree, rel, mount = fsTree{root: m.Source}, path.Join("/", strings.TrimPrefix(p, dest)), m
		}
	}
	return tree, rel, mount
}

// locate resolves the container path p (see resolve) and returns the tree
// that holds the result, the path inside it and the mount (nil: root).
func (v containerView) locate(p string, followLast bool) (fsTree, string, *state.Mount, error) {
	resolved, err := v.resolve(p, followLast)
	if err != nil {
		return fsTree{}, "", nil, err
	}
	tree, rel, m := v.treeOf(resolved)
	if m != nil && m.Type == "tmpfs" {
		return fsTree{}, "", nil, fmt.Errorf("%s %w", p, errTmpfs)
	}
	return tree, rel, m, nil
}

// resolve turns p into a container path without symlinks, component by
// component: a link's target is read as a container path (an absolute
// one from the container's root, ".." never above it), and a prefix that
// reaches a mount destination continues in the mount's source. Each link
// is read by readlinkat below a handle opened in-root in the tree holding
// it, so no lookup leaves the root or a mount source. The last component
// is followed only with followLast. A missing component is kept as
// written: the caller creates it or reports it.
func (v containerView) resolve(p string, followLast bool) (string, error) {
	todo, cur, links := splitPath(p), "/", 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		if comp == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, comp)
		if len(todo) == 0 && !followLast {
			return next, nil
		}
		target, isLink, err := v.readlink(next)
		if err != nil {
			return "", err
		}
		if !isLink {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", &os.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		todo = append(splitPath(target), todo...)
	}
	return cur, nil
}

// readlink reads the symlink at the symlink-free container path p; a
// missing entry, or one that is not a link, gives isLink false.
func (v containerView) readlink(p string) (target string, isLink bool, err error) {
	tree, rel, m := v.treeOf(p)
	if m != nil && m.Type == "tmpfs" {
		return "", false, fmt.Errorf("%s %w", p, errTmpfs)
	}
	if rel == "/" {
		return "", false, nil // a mount's root, whatever lies under it
	}
	dir, err := tree.open(path.Dir(rel))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer dir.Close()
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), path.Base(rel), buf)
	switch {
	case err == nil:
		return string(buf[:n]), true, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return "", false, nil
	}
	return "", false, &os.PathError{Op: "readlink", Path: p, Err: err}
}

// splitPath lists p's components without the empty and "." ones, which
// name nothing (a trailing "/." or "/" is the caller's followLast).
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// trailing returns the "/." or "/" that ends p (Docker's markers for "the
// directory's contents" and "must be a directory"), or "".
func trailing(p string) string {
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		return "/."
	case strings.HasSuffix(p, "/"):
		return "/"
	}
	return ""
}
