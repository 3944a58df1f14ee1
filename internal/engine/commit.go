package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CommitOptions are `commit`'s flags.
type CommitOptions struct {
	image.CommitOptions
	Pause bool // freeze a running container while its changes are read
}

// Commit makes an image of a container's changes: its overlay upper
// directory becomes one new layer on top of its image's layers, and its
// run-time settings (env, entrypoint, cmd, workdir, ...) the config.
func (e *Engine) Commit(ctx context.Context, ref string, o CommitOptions) (*image.Image, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	base, err := e.Images.Get(c.ImageID)
	if err != nil {
		return nil, fmt.Errorf("image of container %s: %w", c.Name, err)
	}
	cfg := containerConfig(c, base.Config.Config)
	o.Config = &cfg
	if o.Pause && c.State.Status == state.Running {
		thaw, err := e.freeze(c)
		if err != nil {
			return nil, fmt.Errorf("pause %s: %w", c.Name, err)
		}
		defer thaw()
	}
	if o.CreatedBy == "" {
		o.CreatedBy = strings.TrimSpace(c.Path + " " + strings.Join(c.Args, " "))
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(layer.WriteDiff(pw, filepath.Join(c.Dir, "upper"), bindTargets(c)...))
	}()
	img, err := e.Images.Commit(ctx, c.ImageID, pr, o.CommitOptions)
	pr.CloseWithError(errors.New("commit ended"))
	return img, err
}

// bindTargets lists the container's bind-mount destinations: the empty
// files the runtime made as their mount points (/etc/hosts and friends)
// are not changes a commit should keep, as in Docker.
func bindTargets(c *state.Container) []string {
	var spec specs.Spec
	if json.Unmarshal(c.Spec, &spec) != nil {
		return nil
	}
	var out []string
	for _, m := range spec.Mounts {
		if m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
			out = append(out, m.Destination)
		}
	}
	return out
}

// freeze stops the container's processes while a commit reads its files,
// so the layer is a consistent snapshot; the returned func thaws them.
func (e *Engine) freeze(c *state.Container) (func(), error) {
	cg, err := e.cgroupOf(c)
	if err != nil {
		return nil, err
	}
	if err := cg.Freeze(); err != nil {
		return nil, err
	}
	return func() { _ = cg.Thaw() }, nil
}

// Export writes a container's whole root filesystem as a tar. A stopped
// container's rootfs is mounted for the time of the export.
func (e *Engine) Export(ref string, w io.Writer) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	merged := filepath.Join(c.Dir, "merged")
	if !layer.IsMounted(merged) {
		img, err := e.Images.Get(c.ImageID)
		if err != nil {
			return fmt.Errorf("image of container %s: %w", c.Name, err)
		}
		if _, err := e.mountRootfs(img, c.Dir, false); err != nil {
			return err
		}
		defer layer.UnmountRootfs(c.Dir)
	}
	return layer.WriteDiff(w, merged)
}
