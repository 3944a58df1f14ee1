// Package engine is cocin's container engine: it resolves images, prepares
// root filesystems, keeps container records and drives the runtime. Every
// function writes only to the streams it is given; the CLI stays thin.
package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cocin-dev/cocin/internal/events"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/state"
)

// Config locates the engine's data.
type Config struct {
	Root         string // persistent data, /var/lib/cocin
	RunRoot      string // runtime state, /run/cocin
	CgroupParent string // parent cgroup name; "" means state.DefaultCgroupParent(Root)
}

// Engine holds the stores. Opening it is cheap: directories are made, not
// scanned.
type Engine struct {
	cfg        Config
	Images     *image.Store
	Layers     *layer.Store
	Containers *state.Store
	Runtime    *runtime.Runtime
	Events     *events.Log
}

// StatusError carries the exit code a command should end with: Docker's
// 125 for an engine error, 126/127 when the command cannot be run.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// ExitCode returns the exit code err maps to: 0 for nil, 125 by default.
// Of the init's failures only "cannot execute" (126) and "not found" (127)
// keep their code, as with Docker: a failed mount or hook is cocin's 125,
// never a code the container's command could have returned.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	var ie *runtime.InitError
	if errors.As(err, &ie) && (ie.Code == 126 || ie.Code == 127) {
		return ie.Code
	}
	return 125
}

// New opens the engine's stores under cfg's directories.
func New(cfg Config) (*Engine, error) {
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = state.DefaultCgroupParent(cfg.Root)
	}
	for _, d := range []string{cfg.Root, cfg.RunRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	layers, err := layer.Open(filepath.Join(cfg.Root, "layers"))
	if err != nil {
		return nil, err
	}
	images, err := image.Open(filepath.Join(cfg.Root, "image"), layers)
	if err != nil {
		return nil, err
	}
	ctrs, err := state.Open(filepath.Join(cfg.Root, "containers"))
	if err != nil {
		return nil, err
	}
	return &Engine{
		cfg:        cfg,
		Images:     images,
		Layers:     layers,
		Containers: ctrs,
		Events:     events.Open(cfg.Root),
		Runtime:    &runtime.Runtime{Root: filepath.Join(cfg.RunRoot, "runtime"), DefaultCgroupParent: cfg.CgroupParent, SeccompCache: filepath.Join(cfg.RunRoot, "seccomp")},
	}, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// emit appends a container event; the log never fails an operation.
func (e *Engine) emit(c *state.Container, action string, attrs map[string]string) {
	_ = e.Events.Append(events.Event{Type: "container", Action: action, ID: c.ID, Name: c.Name, Image: c.Image, Attrs: attrs})
}
