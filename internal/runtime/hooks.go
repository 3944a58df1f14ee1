package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hook phases, named as in config.json.
const (
	HookPrestart        = "prestart"
	HookCreateRuntime   = "createRuntime"
	HookCreateContainer = "createContainer"
	HookStartContainer  = "startContainer"
	HookPoststart       = "poststart"
	HookPoststop        = "poststop"
)

// hooksFor returns the hooks of one phase.
func hooksFor(spec *specs.Spec, phase string) []specs.Hook {
	if spec == nil || spec.Hooks == nil {
		return nil
	}
	h := spec.Hooks
	switch phase {
	case HookPrestart:
		//lint:ignore SA1019 deprecated in the spec, still used by containerd's CNI setups and run by runc
		return h.Prestart
	case HookCreateRuntime:
		return h.CreateRuntime
	case HookCreateContainer:
		return h.CreateContainer
	case HookStartContainer:
		return h.StartContainer
	case HookPoststart:
		return h.Poststart
	case HookPoststop:
		return h.Poststop
	}
	return nil
}

// runHooks runs the hooks of one phase in order, each with the container's
// state as JSON on its stdin, and stops at the first that fails.
func runHooks(spec *specs.Spec, phase string, st *specs.State) error {
	hooks := hooksFor(spec, phase)
	if len(hooks) == 0 {
		return nil
	}
	in, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := runHook(h, in); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", phase, i, h.Path, err)
		}
	}
	return nil
}

// runHooksWarn runs hooks whose failure must not stop the lifecycle
// (poststart, poststop): a failure is only logged, as the spec asks.
func runHooksWarn(spec *specs.Spec, phase string, st *specs.State) {
	if err := runHooks(spec, phase, st); err != nil {
		slog.Warn("hook failed", "error", err)
	}
}

func runHook(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args, cmd.Env = args, h.Env
	cmd.Stdin, cmd.Stderr = bytes.NewReader(state), &stderr
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	// The hook may leave children holding stderr open: stop waiting for
	// them shortly after the hook itself exited.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if s := bytes.TrimSpace(stderr.Bytes()); len(s) > 0 {
			return fmt.Errorf("%w: %s", err, s)
		}
		return err
	}
	return nil
}

// createHooks runs, in the init before pivot_root, first the parent's
// prestart and createRuntime hooks (in the runtime's namespaces: the init
// asks and waits) and then the createContainer hooks, in the container's
// namespaces with the host's paths still reachable, as the spec places them.
func (p *initProc) createHooks() error {
	// Hooks see the container in its cgroup, and the "cgroup" message
	// comes before the hooks' reply on the config pipe.
	if err := p.inCgroup(); err != nil {
		return err
	}
	if p.cfg.HookSync {
		if err := sendStatus(p.status, statusMsg{Type: "hooks"}); err != nil {
			return fmt.Errorf("ask for hooks: %w", err)
		}
		var reply statusMsg
		err := p.cfgPipe.Decode(&reply)
		p.config.Close()
		if err != nil {
			return fmt.Errorf("wait for hooks: %w", err)
		}
		if reply.Type != "ok" {
			return errors.New(reply.Message)
		}
	}
	return runHooks(p.spec, HookCreateContainer, &p.cfg.State)
}
