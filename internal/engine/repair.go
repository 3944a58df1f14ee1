package engine

import (
	"os"
	"path/filepath"

	"github.com/cocin-dev/cocin/internal/state"
)

// releaseCgroup removes the cgroup of a container that no longer runs.
// The runtime removes it on delete, but only while its state directory
// exists: after a reboot (runroot emptied, cgroupfs kept on a test host)
// or a crash between cgroup creation and the state write, the cgroup is
// ours to remove, or the next start finds it "already exists".
func (e *Engine) releaseCgroup(c *state.Container) {
	cg, err := e.cgroupOf(c)
	if err != nil {
		return
	}
	_ = cg.Thaw()
	_ = cg.Kill()
	_ = cg.Destroy()
}

// runtimeDirs lists the runtime's per-container directories, also those a
// create that crashed left without a state file (the runtime's List skips
// them).
func (e *Engine) runtimeDirs() []string {
	ents, err := os.ReadDir(filepath.Join(e.cfg.RunRoot, "runtime"))
	if err != nil {
		return nil
	}
	var ids []string
	for _, ent := range ents {
		if ent.IsDir() {
			ids = append(ids, ent.Name())
		}
	}
	return ids
}
