package engine

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/state"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fsTree opens paths of one side of a copy: the host as it is, or a
// container's root (or one of its volumes) with every symlink resolved
// inside it.
type fsTree struct {
	root string // "" for the host
}

func (t fsTree) open(p string) (*os.File, error) {
	if t.root == "" {
		return os.OpenFile(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_PATH, 0)
	}
	return pathrs.OpenInRoot(t.root, p)
}

// srcEntry is what a copy reads: the entry base inside the directory
// handle parent (never a symlink still to follow), copied under name, the
// last component of the path as written (Docker's name for a followed
// link, a volume's root or a "/." source).
type srcEntry struct {
	parent          *os.File
	base, name      string
	isDir, contents bool
}

// source opens the parent directory of the clean path p and lstats p's
// last component, which is not followed: the caller has resolved any
// link that must be. A source ending in "/" or "/." (trail) must be a
// directory; "/." copies its contents.
func (t fsTree) source(p, name, trail string) (*srcEntry, error) {
	dir, base := filepath.Dir(p), filepath.Base(p)
	if p == "/" {
		base = "."
	}
	parent, err := t.open(dir)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err = unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		parent.Close()
		return nil, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if trail != "" && !isDir {
		parent.Close()
		return nil, &os.PathError{Op: "stat", Path: p + trail, Err: unix.ENOTDIR}
	}
	return &srcEntry{parent: parent, base: base, name: name, isDir: isDir, contents: trail == "/."}, nil
}

// hostSource opens a source on the host. Its last component is followed
// with followLink or a trailing "/" or "/.", as Docker's client does.
func hostSource(p string, followLink bool) (*srcEntry, error) {
	trail, name := trailing(p), filepath.Base(filepath.Clean(p))
	resolved := filepath.Clean(p)
	if followLink || trail != "" {
		var err error
		if resolved, err = filepath.EvalSymlinks(p); err != nil {
			return nil, err
		}
	}
	return fsTree{}.source(resolved, name, trail)
}

// destination applies Docker's cp rules: into an existing directory
// under the source's name (or its contents, for "/."); otherwise as the
// destination's own name inside its existing parent.
func (t fsTree) destination(p, srcName string, srcIsDir, contents bool) (*os.File, string, error) {
	d, err := t.open(p)
	if err == nil {
		fi, serr := d.Stat()
		if serr == nil && fi.IsDir() {
			if contents {
				return d, ".", nil
			}
			return d, srcName, nil
		}
		d.Close()
		if srcIsDir {
			return nil, "", fmt.Errorf("cannot copy a directory to a file: %s", p)
		}
		if strings.HasSuffix(p, "/") {
			return nil, "", fmt.Errorf("destination %s is not a directory", p)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	} else if strings.HasSuffix(p, "/") && !srcIsDir {
		return nil, "", fmt.Errorf("destination directory %s does not exist", p)
	}
	clean := filepath.Clean(p)
	parent, err := t.open(filepath.Dir(clean))
	if err != nil {
		return nil, "", fmt.Errorf("destination's parent directory: %w", err)
	}
	return parent, filepath.Base(clean), nil
}

// withRootfs runs fn with the container's root mounted; a stopped
// container's is mounted for the copy and unmounted after, unless the
// container was started meanwhile.
func (e *Engine) withRootfs(c *state.Container, fn func(rootfs string) error) error {
	merged := filepath.Join(c.Dir, "merged")
	if layer.IsMounted(merged) {
		return fn(merged)
	}
	if err := e.remountFor(c); err != nil {
		return err
	}
	defer func() {
		if cur, err := e.Containers.Get(c.ID); err == nil && !IsRunning(cur) {
			_ = layer.UnmountRootfs(c.Dir)
		}
	}()
	return fn(merged)
}

// checkWritable refuses a copy into a read-only mount or a read-only root,
// as Docker does: cp must not write where the container itself cannot.
func checkWritable(c *state.Container, m *state.Mount) error {
	if m != nil {
		if !m.RW {
			return fmt.Errorf("mounted volume is marked read-only: %s", m.Destination)
		}
		return nil
	}
	var spec specs.Spec
	if json.Unmarshal(c.Spec, &spec) == nil && spec.Root != nil && spec.Root.Readonly {
		return errors.New("container rootfs is marked read-only")
	}
	return nil
}

// CopyFromContainer copies ctrPath out of the container to hostPath, or
// as a tar stream to out when hostPath is "-". A symlink in the last
// component is copied as a link, unless followLink (-L) or the path ends
// in "/" or "/.": then what it points to is copied, under the link's name.
func (e *Engine) CopyFromContainer(ref, ctrPath, hostPath string, out io.Writer, followLink bool) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	return e.withRootfs(c, func(rootfs string) error {
		src, err := containerSource(viewOf(c, rootfs), ctrPath, followLink)
		if errors.Is(err, errTmpfs) {
			return err
		}
		if err != nil {
			return fmt.Errorf("could not find the file %s in container %s", ctrPath, ref)
		}
		defer src.parent.Close()
		if hostPath == "-" {
			return writeTar(out, src)
		}
		return copyBetween(src, fsTree{}, hostPath, false)
	})
}

// containerSource resolves a cp source inside the container's view.
func containerSource(v containerView, p string, followLink bool) (*srcEntry, error) {
	trail := trailing(p)
	tree, rel, _, err := v.locate(p, followLink || trail != "")
	if err != nil {
		return nil, err
	}
	name := path.Base(path.Clean("/" + p))
	if name == "/" {
		name = "." // the whole root: its entries, not one named "/"
	}
	return tree.source(rel, name, trail)
}

// CopyToContainer copies hostPath into the container at ctrPath, or
// extracts a tar stream from in when hostPath is "-" (ctrPath must then
// be a directory). Files copied in are owned by root, as with Docker.
// The destination is resolved in the container's view, a symlink in its
// last component included (Docker follows it too).
func (e *Engine) CopyToContainer(ref, hostPath, ctrPath string, in io.Reader, followLink bool) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	return e.withRootfs(c, func(rootfs string) error {
		tree, rel, mount, err := viewOf(c, rootfs).locate(ctrPath, true)
		if err != nil {
			return fmt.Errorf("destination %s in container %s: %w", ctrPath, ref, err)
		}
		if err := checkWritable(c, mount); err != nil {
			return err
		}
		if hostPath == "-" {
			return extractInto(tree, rel, ctrPath, in)
		}
		src, err := hostSource(hostPath, followLink)
		if err != nil {
			return err
		}
		defer src.parent.Close()
		return copyBetween(src, tree, rel+trailing(ctrPath), true)
	})
}

// extractInto unpacks a tar stream into the directory rel of tree.
func extractInto(tree fsTree, rel, ctrPath string, in io.Reader) error {
	d, err := tree.open(rel)
	if err != nil {
		return fmt.Errorf("destination %s: %w", ctrPath, err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return fmt.Errorf("destination %s must be a directory", ctrPath)
	}
	return layer.ExtractTar(d, in)
}

func copyBetween(src *srcEntry, dst fsTree, dstPath string, chown0 bool) error {
	d, dname, err := dst.destination(dstPath, src.name, src.isDir, src.contents)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := copyTree(src.parent, src.base, d, dname, chown0); err != nil {
		return fmt.Errorf("copy to %s: %w", dstPath, err)
	}
	return nil
}

func writeTar(out io.Writer, src *srcEntry) error {
	tw := tar.NewWriter(out)
	if err := tarTree(tw, src.parent, src.base, src.name, false); err != nil {
		return err
	}
	return tw.Close()
}
