package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	"github.com/cocin-dev/cocin/internal/volume"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// volumes opens the volume store; it makes nothing until a volume is
// created, so a run without volumes pays nothing for it.
func (e *Engine) volumes() *volume.Store {
	return volume.Open(filepath.Join(e.cfg.Root, "volumes"))
}

// setupStorage turns -v, --mount, --tmpfs, --volumes-from and the image's
// VOLUME entries into spec mounts (o.Storage.Resolved) and the record's
// Mounts. Volumes it creates are removed again if prepare fails.
func (e *Engine) setupStorage(ctx context.Context, p *prepared, o *RunOptions, img *image.Image, rec *state.Container) error {
	st := &o.Storage
	if len(st.Volumes)+len(st.Mounts)+len(st.Tmpfs)+len(st.VolumesFrom)+len(img.Config.Config.Volumes) == 0 {
		return nil
	}
	_, end := trace.Step(ctx, "volumes")
	defer end()
	reqs, err := e.mountRequests(st, img)
	if err != nil {
		return err
	}
	var mounts []specs.Mount
	for _, r := range reqs {
		m, rm, err := e.realize(p, r, rec.Rootfs)
		if err != nil {
			return fmt.Errorf("mount %s: %w", r.Target, err)
		}
		mounts, rec.Mounts = append(mounts, m), append(rec.Mounts, rm)
	}
	st.Resolved = mounts
	return nil
}

// mountRequests parses the flags, adds anonymous volumes for the image's
// VOLUME entries nobody mounted over, refuses duplicate targets and
// sorts parents before children (a volume at /a/b must go on top of /a).
func (e *Engine) mountRequests(st *specgen.Storage, img *image.Image) ([]mountReq, error) {
	var reqs []mountReq
	add := func(vals []string, parse func(string) (mountReq, error)) error {
		for _, v := range vals {
			r, err := parse(v)
			if err != nil {
				return err
			}
			reqs = append(reqs, r)
		}
		return nil
	}
	if err := add(st.Volumes, parseVolumeFlag); err != nil {
		return nil, err
	}
	if err := add(st.Mounts, parseMountFlag); err != nil {
		return nil, err
	}
	if err := add(st.Tmpfs, parseTmpfsFlag); err != nil {
		return nil, err
	}
	own := len(reqs)
	for _, v := range st.VolumesFrom {
		from, err := e.volumesFrom(v)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, from...)
	}
	reqs, err := dedupTargets(reqs, own)
	if err != nil {
		return nil, err
	}
	reqs = addImageVolumes(reqs, img)
	sort.SliceStable(reqs, func(i, j int) bool { return targetDepth(reqs[i].Target) < targetDepth(reqs[j].Target) })
	return reqs, nil
}

// dedupTargets refuses two of the user's own mounts on one target; a
// mount inherited with --volumes-from gives way to the user's own.
func dedupTargets(reqs []mountReq, own int) ([]mountReq, error) {
	seen := map[string]bool{}
	var out []mountReq
	for i, r := range reqs {
		t := filepath.Clean(r.Target)
		if seen[t] {
			if i < own {
				return nil, fmt.Errorf("duplicate mount point: %s", t)
			}
			continue
		}
		seen[t] = true
		out = append(out, r)
	}
	return out, nil
}

// addImageVolumes gives each VOLUME of the image that no mount covers an
// anonymous volume, as Docker does.
func addImageVolumes(reqs []mountReq, img *image.Image) []mountReq {
	targets := make([]string, 0, len(img.Config.Config.Volumes))
	for t := range img.Config.Config.Volumes {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		if !filepath.IsAbs(t) || filepath.Clean(t) == "/" || slices.ContainsFunc(reqs, func(r mountReq) bool { return filepath.Clean(r.Target) == filepath.Clean(t) }) {
			continue
		}
		reqs = append(reqs, mountReq{Type: "volume", Target: t})
	}
	return reqs
}

// volumesFrom parses CTR[:ro|rw] and returns that container's volumes
// and bind mounts (not its tmpfs mounts, which are its own), with their
// mode unless one is given.
func (e *Engine) volumesFrom(s string) ([]mountReq, error) {
	ref, mode, _ := strings.Cut(s, ":")
	if mode != "" && mode != "ro" && mode != "rw" {
		return nil, fmt.Errorf("invalid --volumes-from %q: mode must be ro or rw", s)
	}
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, fmt.Errorf("--volumes-from %s: %w", ref, err)
	}
	var out []mountReq
	for _, m := range c.Mounts {
		if m.Type == "tmpfs" {
			continue
		}
		r := mountReq{Type: m.Type, Source: m.Name, Target: m.Destination, ReadOnly: !m.RW, Mode: m.Mode, Propagation: m.Propagation, NoCopy: true}
		if m.Type == "bind" {
			r.Source = m.Source
			if r.Propagation == "rprivate" {
				r.Propagation = ""
			}
		}
		if mode != "" {
			r.ReadOnly, r.Mode = mode == "ro", mode
		}
		out = append(out, r)
	}
	return out, nil
}

// realize makes one mount real: checks or creates the bind source,
// creates or finds the volume (copying the image's content into a new
// one), and returns the spec mount and the record's entry.
func (e *Engine) realize(p *prepared, r mountReq, rootfs string) (specs.Mount, state.Mount, error) {
	target := filepath.Clean(r.Target)
	rm := state.Mount{Type: r.Type, Destination: target, Mode: r.Mode, RW: !r.ReadOnly}
	m := specs.Mount{Destination: target, Type: "bind", Options: []string{"rbind"}}
	switch r.Type {
	case "tmpfs":
		m.Type, m.Source = "tmpfs", "tmpfs"
		m.Options = append([]string{"nosuid", "nodev", "noexec"}, r.Options...)
		rm.RW = !r.ReadOnly && !containsLast(r.Options, "ro", "rw")
	case "bind":
		src, err := bindSource(r)
		if err != nil {
			return m, rm, err
		}
		m.Source, rm.Source = src, src
		rm.Propagation = r.Propagation
		if rm.Propagation == "" {
			rm.Propagation = "rprivate"
		}
		m.Options = append(m.Options, rm.Propagation)
	case "volume":
		v, err := e.volumeFor(p, r, rootfs)
		if err != nil {
			return m, rm, err
		}
		if err := usernsVolume(rootfs, v); err != nil {
			return m, rm, err
		}
		m.Source, rm.Source, rm.Name, rm.Driver = v.Mountpoint, v.Mountpoint, v.Name, v.Driver
		m.Options = append(m.Options, "rprivate")
	}
	if r.ReadOnly {
		m.Options = append(m.Options, "ro")
	}
	return m, rm, nil
}

// containsLast reports whether, of on and off, on comes last in opts.
func containsLast(opts []string, on, off string) bool {
	set := false
	for _, o := range opts {
		if o == on {
			set = true
		} else if o == off {
			set = false
		}
	}
	return set
}

// bindSource checks a bind mount's host path: -v creates a missing one
// as a directory (Docker's behaviour), --mount refuses it.
func bindSource(r mountReq) (string, error) {
	src := filepath.Clean(r.Source)
	_, err := os.Stat(src)
	switch {
	case err == nil:
		return src, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	case !r.CreateHost:
		return "", fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", src)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("create bind source %s: %w", src, err)
	}
	return src, nil
}

// volumeFor finds or creates the volume of r; a new one is filled with
// what the image has at the target, unless nocopy.
func (e *Engine) volumeFor(p *prepared, r mountReq, rootfs string) (*volume.Volume, error) {
	vs := e.volumes()
	name, labels := r.Source, map[string]string(nil)
	if name == "" {
		name, labels = volume.NewAnonymousName(), map[string]string{volume.AnonymousLabel: ""}
	}
	v, err := vs.Create(name, labels)
	if errors.Is(err, volume.ErrExists) {
		return v, e.copyUpIfEmpty(r, rootfs, v)
	}
	if err != nil {
		return nil, err
	}
	p.undo = append(p.undo, func() { _ = vs.Remove(v.Name) })
	return v, e.copyUpIfEmpty(r, rootfs, v)
}

// copyUpIfEmpty copies the image's directory at the target into an empty
// volume, owners and modes included (Docker's behaviour). The target is
// resolved inside the rootfs: an image whose /data links to /etc copies
// the container's /etc, never the host's.
func (e *Engine) copyUpIfEmpty(r mountReq, rootfs string, v *volume.Volume) error {
	if r.NoCopy {
		return nil
	}
	dst, err := os.Open(v.Mountpoint)
	if err != nil {
		return err
	}
	defer dst.Close()
	if names, _ := dst.Readdirnames(1); len(names) > 0 {
		return nil
	}
	src, err := pathrs.OpenInRoot(rootfs, r.Target)
	if err != nil {
		return nil // nothing there (or not reachable): nothing to copy
	}
	defer src.Close()
	if fi, err := src.Stat(); err != nil || !fi.IsDir() {
		return nil
	}
	if err := copyTree(src, ".", dst, ".", false); err != nil {
		return fmt.Errorf("copy image content into volume %s: %w", v.Name, err)
	}
	return nil
}

// targetDepth orders mounts: fewer path components first.
func targetDepth(t string) int { return strings.Count(filepath.Clean(t), "/") }
