package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cocin-dev/cocin/internal/events"
	"github.com/cocin-dev/cocin/internal/runtime"
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

// makerFile, in a container directory, names the command that made it:
// "PID STARTTIME".
const makerFile = "maker"

// self is this process as records name an owner or a maker: its pid and
// start time (a reused pid has another), read once per process.
var self = sync.OnceValues(func() (ident, error) {
	pid := os.Getpid()
	start, err := runtime.PidStartTime(pid)
	return ident{pid, start}, err
})

type ident struct {
	pid   int
	start uint64
}

func writeMaker(dir string) error {
	me, err := self()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, makerFile), []byte(fmt.Sprintf("%d %d", me.pid, me.start)), 0o600)
}

// makerAlive reports whether the command that made a container directory
// still runs (it is still preparing the container).
func makerAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, makerFile))
	if err != nil {
		return false
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil {
		return false
	}
	return runtime.ProcessAlive(pid, start)
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

// exitFromEvents finds the exit code of a container that is gone (removed
// by --rm right after it exited) in its last "die" event since since.
func (e *Engine) exitFromEvents(id string, since time.Time) (int, bool) {
	code, found := 0, false
	o := events.ReadOptions{Since: since, Filter: events.Filter{"container": {id}, "event": {"die"}}}
	_ = e.Events.Read(o, func(ev events.Event) error {
		if n, err := strconv.Atoi(ev.Attrs["exitCode"]); err == nil {
			code, found = n, true
		}
		return nil
	})
	return code, found
}
