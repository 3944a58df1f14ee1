package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultParent is the parent cgroup of every container unless configured.
const DefaultParent = "cocin"

// RootParent as Config.Parent puts the container's cgroup directly below
// the hierarchy root, for an OCI bundle whose cgroupsPath has one level
// ("/name"). Only the leaf is made; the root's files are never written.
const RootParent = "/"

// ErrNoCgroupFD is returned by OpenDirFD on cgroup v1, where a process
// cannot be cloned into all its controllers at once: use AddProc instead.
var ErrNoCgroupFD = errors.New("cgroups: no cgroup directory fd on cgroup v1 (use AddProc)")

// Config describes one container's cgroup.
type Config struct {
	// Parent is cocin's parent cgroup, relative to the hierarchy root,
	// DefaultParent when empty. It may have several levels ("cocin/web").
	// cocin treats every level as its own: it creates missing levels and
	// enables controllers in their cgroup.subtree_control (v2); it never
	// writes to the hierarchy root.
	Parent string
	// Name is the container's cgroup, a single path element (its id).
	Name string
	// Resources are the limits; nil sets none.
	Resources *specs.LinuxResources
}

// Cgroup is one container's cgroup: a directory on every v1 controller, or
// the one v2 directory.
type Cgroup struct {
	fs     *fsys
	parent string            // cleaned parent path, e.g. "cocin"
	name   string            // container id
	paths  map[string]string // controller → dir (v1); "" → dir (v2)
}

// Create makes the container's cgroup and applies cfg.Resources. On any
// failure everything it made is removed again and the error names the file
// and value the kernel refused.
func Create(cfg Config) (*Cgroup, error) {
	f, err := host()
	if err != nil {
		return nil, err
	}
	return f.create(cfg)
}

// Load re-opens an existing container cgroup, e.g. from another process
// that stops, updates or removes the container.
func Load(parent, name string) (*Cgroup, error) {
	f, err := host()
	if err != nil {
		return nil, err
	}
	return f.load(parent, name)
}

// RemoveParent removes the last level of cocin's parent cgroup on every
// hierarchy if no container uses it any more; a busy parent is left alone.
func RemoveParent(parent string) error {
	f, err := host()
	if err != nil {
		return err
	}
	return f.removeParent(parent)
}

func (f *fsys) create(cfg Config) (_ *Cgroup, err error) {
	c, err := f.newCgroup(cfg.Parent, cfg.Name)
	if err != nil {
		return nil, err
	}
	defer wrap(&err, "create cgroup %s/%s", c.parent, c.name)
	if err := validate(f.version, cfg.Resources); err != nil {
		return nil, err
	}
	needed := neededControllers(f.version, cfg.Resources)
	var made []string
	defer func() {
		if err != nil {
			f.removeMade(made)
		}
	}()
	if f.version == V2 {
		made, err = c.makeV2(needed)
	} else {
		made, err = c.makeV1(needed)
	}
	if err != nil {
		return nil, err
	}
	if err := c.set(cfg.Resources); err != nil {
		return nil, err
	}
	return c, nil
}

func (f *fsys) load(parent, name string) (_ *Cgroup, err error) {
	c, err := f.newCgroup(parent, name)
	if err != nil {
		return nil, err
	}
	c.paths = map[string]string{}
	for ctrl, dir := range c.candidatePaths() {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			c.paths[ctrl] = dir
		}
	}
	if len(c.paths) == 0 {
		return nil, fmt.Errorf("load cgroup %s/%s: %w", c.parent, c.name, fs.ErrNotExist)
	}
	return c, nil
}

func (f *fsys) newCgroup(parent, name string) (*Cgroup, error) {
	p, err := cleanParent(parent)
	if err != nil {
		return nil, err
	}
	if err := checkElem(name); err != nil {
		return nil, fmt.Errorf("cgroups: container cgroup name: %w", err)
	}
	return &Cgroup{fs: f, parent: p, name: name}, nil
}

// cleanParent checks the parent path: relative, no "." or ".." levels, so
// nothing outside cocin's subtree can be named.
func cleanParent(parent string) (string, error) {
	if parent == RootParent {
		return "", nil
	}
	p := strings.Trim(parent, "/")
	if p == "" {
		return DefaultParent, nil
	}
	for _, e := range strings.Split(p, "/") {
		if err := checkElem(e); err != nil {
			return "", fmt.Errorf("cgroups: parent cgroup %q: %w", parent, err)
		}
	}
	return p, nil
}

func checkElem(e string) error {
	if e == "" || e == "." || e == ".." || strings.ContainsAny(e, "/\x00") {
		return fmt.Errorf("invalid cgroup name %q", e)
	}
	return nil
}

// candidatePaths is where the cgroup's directories are or would be.
func (c *Cgroup) candidatePaths() map[string]string {
	rel := filepath.Join(c.parent, c.name)
	if c.fs.version == V2 {
		return map[string]string{"": filepath.Join(c.fs.root, rel)}
	}
	m := map[string]string{}
	for _, ctrl := range v1Controllers {
		if mnt, ok := c.fs.mounts[ctrl]; ok {
			m[ctrl] = filepath.Join(mnt, rel)
		}
	}
	return m
}

// Version is the layout this cgroup lives in.
func (c *Cgroup) Version() Version { return c.fs.version }

// Paths maps each controller to the cgroup's directory (v2: "" → dir).
func (c *Cgroup) Paths() map[string]string {
	m := make(map[string]string, len(c.paths))
	for k, v := range c.paths {
		m[k] = v
	}
	return m
}

// dirs lists the distinct directories (co-mounted v1 controllers share one).
func (c *Cgroup) dirs() []string {
	var ds []string
	for _, d := range c.paths {
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	sort.Strings(ds)
	return ds
}

// dir returns the directory of a controller, or an error naming it.
func (c *Cgroup) dir(ctrl string) (string, error) {
	if c.fs.version == V2 {
		return c.paths[""], nil
	}
	if d, ok := c.paths[ctrl]; ok {
		return d, nil
	}
	return "", fmt.Errorf("cgroup v1 controller %q is not mounted: %w", ctrl, ErrUnsupported)
}

// OpenDirFD opens the v2 directory for clone3's CLONE_INTO_CGROUP
// (SysProcAttr.UseCgroupFD/CgroupFD), so the child starts inside its cgroup
// and never runs a moment unconstrained. The caller closes the fd.
func (c *Cgroup) OpenDirFD() (int, error) {
	if c.fs.version != V2 {
		return -1, ErrNoCgroupFD
	}
	fd, err := unix.Open(c.paths[""], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cgroups: open %s: %w", c.paths[""], err)
	}
	return fd, nil
}

// AddProc moves a process into the cgroup on every controller.
func (c *Cgroup) AddProc(pid int) error {
	for _, d := range c.dirs() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroups: add process %d: %w", pid, err)
		}
	}
	return nil
}

// Procs lists the processes in the cgroup.
func (c *Cgroup) Procs() ([]int, error) {
	s, err := readFile(c.primaryDir(), "cgroup.procs")
	if err != nil {
		return nil, fmt.Errorf("cgroups: list processes: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("cgroups: list processes: bad pid %q", f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// primaryDir is where process lists are read: on v1 every controller holds
// the same processes, so the first present of a fixed order is enough.
func (c *Cgroup) primaryDir() string {
	for _, ctrl := range []string{"", "pids", "freezer", "memory", "cpu", "cpuacct", "devices", "blkio", "cpuset"} {
		if d, ok := c.paths[ctrl]; ok {
			return d
		}
	}
	return ""
}

// Destroy removes the cgroup's directories (and any child cgroups a nested
// engine made in them). It retries briefly while killed processes exit and
// succeeds if they are already gone; the parent is left in place.
func (c *Cgroup) Destroy() error {
	var errs []error
	for _, d := range c.dirs() {
		if err := c.fs.removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroups: destroy %s/%s: %w", c.parent, c.name, err)
	}
	return nil
}

func (f *fsys) removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := f.removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return f.rmdirRetry(dir)
}

// rmdirRetry retries EBUSY for about 1.3 s: right after a SIGKILL the
// processes may not have left the cgroup yet.
func (f *fsys) rmdirRetry(dir string) error {
	delay := 10 * time.Millisecond
	for i := 0; ; i++ {
		err := f.rmdir(dir)
		switch {
		case err == nil || errors.Is(err, fs.ErrNotExist):
			return nil
		case !errors.Is(err, unix.EBUSY) || i == 7:
			return fmt.Errorf("rmdir %s: %w", dir, err)
		}
		time.Sleep(delay)
		delay *= 2
		if delay > 320*time.Millisecond {
			delay = 320 * time.Millisecond
		}
	}
}

// removeMade undoes a failed Create, deepest directory first. A parent
// another container started using meanwhile is busy and stays.
func (f *fsys) removeMade(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		_ = f.rmdir(made[i])
	}
}

func (f *fsys) removeParent(parent string) error {
	p, err := cleanParent(parent)
	if err != nil || p == "" {
		return err
	}
	var roots []string
	if f.version == V2 {
		roots = []string{f.root}
	} else {
		for _, m := range f.mounts {
			if !slices.Contains(roots, m) {
				roots = append(roots, m)
			}
		}
	}
	for _, r := range roots {
		err := f.rmdir(filepath.Join(r, p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("cgroups: remove parent %s: %w", p, err)
		}
	}
	return nil
}

// wrap prefixes a non-nil *err with "cgroups: <what>: ".
func wrap(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf("cgroups: "+format+": %w", append(args, *err)...)
	}
}
