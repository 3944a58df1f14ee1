package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/layer"
	digest "github.com/opencontainers/go-digest"
)

// DiskUsage is one row of `system df`.
type DiskUsage struct {
	Type        string
	Total       int
	Active      int
	Size        int64
	Reclaimable int64
}

// DiskUsage reports the space images and containers take.
func (e *Engine) DiskUsage() ([]DiskUsage, error) {
	imgs, err := e.Images.List()
	if err != nil {
		return nil, err
	}
	ctrs, err := e.List()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.ImageID] = true
	}
	iu := e.imageUsage(imgs, used)
	cu := DiskUsage{Type: "Containers", Total: len(ctrs)}
	for _, c := range ctrs {
		size := dirSize(filepath.Join(c.Dir, "upper"))
		cu.Size += size
		if IsRunning(c) {
			cu.Active++
		} else {
			cu.Reclaimable += size
		}
	}
	vu, err := e.volumeUsage()
	if err != nil {
		return nil, err
	}
	// cocin has no builder: its build cache is always empty, shown as
	// Docker shows an empty one.
	return []DiskUsage{iu, cu, vu, {Type: "Build Cache"}}, nil
}

// imageUsage is the Images row. A layer several images share is counted
// once, as Docker does, and is reclaimable only if no image in use has it.
func (e *Engine) imageUsage(imgs []*image.Image, used map[string]bool) DiskUsage {
	iu := DiskUsage{Type: "Images", Total: len(imgs)}
	size := map[digest.Digest]int64{}
	inUse := map[digest.Digest]bool{}
	for _, img := range imgs {
		active := used[img.ID.String()]
		if active {
			iu.Active++
		}
		for _, chain := range layer.ChainIDs(img.DiffIDs) {
			if _, seen := size[chain]; !seen {
				size[chain] = 0
				if info, err := e.Layers.Get(chain); err == nil {
					size[chain] = info.Size
				}
			}
			inUse[chain] = inUse[chain] || active
		}
	}
	for chain, n := range size {
		iu.Size += n
		if !inUse[chain] {
			iu.Reclaimable += n
		}
	}
	return iu
}

// volumeUsage is the Local Volumes row: a volume some container (running
// or not) mounts is active; the others' data is reclaimable.
func (e *Engine) volumeUsage() (DiskUsage, error) {
	vu := DiskUsage{Type: "Local Volumes"}
	vs, err := e.volumes().List()
	if err != nil {
		return vu, err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return vu, err
	}
	for _, v := range vs {
		size := dirSize(v.Mountpoint)
		vu.Total++
		vu.Size += size
		if len(users[v.Name]) > 0 {
			vu.Active++
		} else {
			vu.Reclaimable += size
		}
	}
	return vu, nil
}

// dirSize is the apparent size of the regular files under dir, each
// hard-linked file counted once.
func dirSize(dir string) int64 {
	var n int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += fi.Size()
		return nil
	})
	return n
}

// PruneOptions are `system prune`'s flags.
type PruneOptions struct {
	AllImages bool // -a: every image no container uses, not only untagged ones
	Volumes   bool // --volumes: unused anonymous volumes too
}

// PruneReport lists what prune removed.
type PruneReport struct {
	Containers []string
	Networks   []string
	Volumes    []string
	Images     []string
	Repaired   []string
	Reclaimed  int64
}

// Prune removes stopped containers and unused images, and repairs what
// interrupted commands left half-made: container directories without a
// record, runtime state without a container, mounts and cgroups of
// containers that do not run, interrupted layer unpacks.
func (e *Engine) Prune(o PruneOptions) (*PruneReport, error) {
	r := &PruneReport{}
	ctrs, err := e.List()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range ctrs {
		if IsRunning(c) || starting(c) {
			continue
		}
		size := dirSize(filepath.Join(c.Dir, "upper"))
		if err := e.Remove(context.Background(), c.ID, RemoveOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Containers = append(r.Containers, c.ID)
		r.Reclaimed += size
	}
	r.Repaired = append(r.Repaired, e.repairLeftovers()...)
	r.Repaired = append(r.Repaired, e.repairNetworks()...)
	// User-defined networks no container uses, as Docker's system prune.
	if st, err := e.Networks(); err == nil {
		nets, err := st.Prune()
		r.Networks = nets
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.Volumes {
		vols, freed, err := e.VolumePrune(false, nil)
		r.Volumes = vols
		r.Reclaimed += freed
		if err != nil {
			errs = append(errs, err)
		}
	}
	imgs, freed, err := e.PruneImages(o.AllImages)
	for _, id := range imgs {
		r.Images = append(r.Images, id.String())
	}
	r.Reclaimed += freed
	if err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

// releaseIdle removes what the installation shares with the host (the
// default bridge, the nftables table, the parent cgroup) once its last
// container is gone, so nothing of cocin stays on the host after it.
func (e *Engine) releaseIdle() {
	if !e.Containers.Empty() {
		return
	}
	if st, err := e.Networks(); err == nil {
		_ = st.ReleaseIdle()
	}
	_ = cgroups.RemoveParent(e.cfg.CgroupParent)
}

// repairLeftovers removes what crashed commands left behind.
func (e *Engine) repairLeftovers() []string {
	var fixed []string
	for _, d := range e.Containers.RemoveLeftovers() {
		fixed = append(fixed, "interrupted removal "+d)
	}
	known := map[string]bool{}
	ctrs, _ := e.Containers.List()
	for _, c := range ctrs {
		known[c.ID] = true
	}
	// Container directories whose record was never written.
	base := filepath.Dir(e.Containers.Dir("x"))
	ents, _ := os.ReadDir(base)
	ours := map[string]bool{}
	for _, ent := range ents {
		ours[ent.Name()] = true
	}
	for _, id := range e.runtimeDirs() {
		ours[id] = true
	}
	for _, ent := range ents {
		if len(ent.Name()) != 64 || known[ent.Name()] {
			continue
		}
		dir := filepath.Join(base, ent.Name())
		if makerAlive(dir) {
			continue // a run or create still preparing it
		}
		if layer.UnmountRootfs(dir) == nil && os.RemoveAll(dir) == nil {
			fixed = append(fixed, "container directory "+ent.Name()[:12])
		}
	}
	// Names held by containers that never got a record (a run killed
	// early) and are not being made.
	for name, id := range e.Containers.Names() {
		if e.staleHolder(id) {
			e.Containers.ReleaseName(name, id)
			fixed = append(fixed, "name "+name)
		}
	}
	// Runtime state and cgroups of containers that are gone.
	for _, id := range e.runtimeDirs() {
		if !known[id] {
			if e.Runtime.Delete(id, true) == nil {
				fixed = append(fixed, "runtime state "+shortID(id))
			}
		}
	}
	for _, name := range cgroupChildren(e.cfg.CgroupParent) {
		// Only a cgroup whose container directory or runtime state was
		// ours: another installation given the same cgroup parent keeps
		// its containers.
		if known[name] || !ours[name] {
			continue
		}
		if cg, err := cgroups.Load(e.cfg.CgroupParent, name); err == nil {
			_ = cg.Kill()
			if cg.Destroy() == nil {
				fixed = append(fixed, "cgroup "+shortID(name))
			}
		}
	}
	// Attach sockets of containers that do not run.
	socks, _ := os.ReadDir(filepath.Join(e.cfg.RunRoot, "attach"))
	for _, s := range socks {
		live := false
		for _, c := range ctrs {
			if strings.HasPrefix(c.ID, s.Name()) && IsRunning(c) {
				live = true
			}
		}
		if !live && os.Remove(filepath.Join(e.cfg.RunRoot, "attach", s.Name())) == nil {
			fixed = append(fixed, "attach socket "+s.Name())
		}
	}
	// cocin's parent cgroup goes too once no container needs it (the
	// next container makes it again); a busy parent is left alone.
	_ = cgroups.RemoveParent(e.cfg.CgroupParent)
	return fixed
}

// cgroupChildren lists the container cgroups under cocin's parent, looked
// up in the memory (v1) or unified (v2) hierarchy.
func cgroupChildren(parent string) []string {
	var out []string
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		ents, err := os.ReadDir(filepath.Join(root, parent))
		if err != nil {
			continue
		}
		for _, ent := range ents {
			if ent.IsDir() && len(ent.Name()) == 64 {
				out = append(out, ent.Name())
			}
		}
		return out
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
