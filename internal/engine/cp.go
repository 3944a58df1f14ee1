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

// source opens the parent directory of p and returns it with p's last
// component, which is not followed (cp copies a symlink as a link).
// contents is set by a trailing "/.": copy what is in the directory.
func (t fsTree) source(p string) (parent *os.File, base string, isDir, contents bool, err error) {
	contents = strings.HasSuffix(p, "/.") || p == "."
	clean := filepath.Clean(p)
	dir, base := filepath.Dir(clean), filepath.Base(clean)
	if clean == "/" {
		dir, base = "/", "."
	}
	if parent, err = t.open(dir); err != nil {
		return nil, "", false, false, err
	}
	var st unix.Stat_t
	if err = unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		parent.Close()
		return nil, "", false, false, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return parent, base, st.Mode&unix.S_IFMT == unix.S_IFDIR, contents, nil
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

// containerTree maps a container path to the tree that holds it: the
// volume or bind mount with the longest matching destination, or the
// root. Paths are then resolved inside that tree.
func containerTree(c *state.Container, rootfs, p string) (fsTree, string) {
	t, rel, _ := containerTreeMount(c, rootfs, p)
	return t, rel
}

// containerTreeMount is containerTree that also names the mount chosen
// (nil: the container's root).
func containerTreeMount(c *state.Container, rootfs, p string) (fsTree, string, *state.Mount) {
	clean := path.Clean("/" + p)
	best, rel := fsTree{root: rootfs}, p
	var mount *state.Mount
	bestLen := 0
	for i, m := range c.Mounts {
		if m.Type == "tmpfs" || len(m.Destination) <= bestLen {
			continue
		}
		if clean == m.Destination || strings.HasPrefix(clean, m.Destination+"/") {
			r := strings.TrimPrefix(clean, m.Destination)
			if strings.HasSuffix(p, "/.") {
				r += "/."
			} else if strings.HasSuffix(p, "/") {
				r += "/"
			}
			best, rel, bestLen = fsTree{root: m.Source}, "/"+strings.TrimPrefix(r, "/"), len(m.Destination)
			mount = &c.Mounts[i]
		}
	}
	return best, rel, mount
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
// as a tar stream to out when hostPath is "-".
func (e *Engine) CopyFromContainer(ref, ctrPath, hostPath string, out io.Writer) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	return e.withRootfs(c, func(rootfs string) error {
		tree, rel := containerTree(c, rootfs, ctrPath)
		parent, base, isDir, contents, err := tree.source(rel)
		if err != nil {
			return fmt.Errorf("could not find the file %s in container %s", ctrPath, ref)
		}
		defer parent.Close()
		name := base
		if base == "." {
			name = "/"
		}
		if hostPath == "-" {
			return writeTar(out, parent, base, filepath.Base(name))
		}
		return copyBetween(parent, base, isDir, contents, fsTree{}, hostPath, false)
	})
}

// CopyToContainer copies hostPath into the container at ctrPath, or
// extracts a tar stream from in when hostPath is "-" (ctrPath must then
// be a directory). Files copied in are owned by root, as with Docker.
func (e *Engine) CopyToContainer(ref, hostPath, ctrPath string, in io.Reader) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	return e.withRootfs(c, func(rootfs string) error {
		tree, rel, mount := containerTreeMount(c, rootfs, ctrPath)
		if err := checkWritable(c, mount); err != nil {
			return err
		}
		if hostPath == "-" {
			d, err := tree.open(rel)
			if err != nil {
				return fmt.Errorf("destination %s in container %s: %w", ctrPath, ref, err)
			}
			defer d.Close()
			if fi, err := d.Stat(); err != nil || !fi.IsDir() {
				return fmt.Errorf("destination %s must be a directory", ctrPath)
			}
			return layer.ExtractTar(d, in)
		}
		parent, base, isDir, contents, err := fsTree{}.source(hostPath)
		if err != nil {
			return err
		}
		defer parent.Close()
		return copyBetween(parent, base, isDir, contents, tree, rel, true)
	})
}

func copyBetween(parent *os.File, base string, isDir, contents bool, dst fsTree, dstPath string, chown0 bool) error {
	name := base
	if base == "." {
		name = filepath.Base(parent.Name())
	}
	d, dname, err := dst.destination(dstPath, name, isDir, contents)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := copyTree(parent, base, d, dname, chown0); err != nil {
		return fmt.Errorf("copy to %s: %w", dstPath, err)
	}
	return nil
}

func writeTar(out io.Writer, parent *os.File, base, name string) error {
	tw := tar.NewWriter(out)
	if err := tarTree(tw, parent, base, name, false); err != nil {
		return err
	}
	return tw.Close()
}
