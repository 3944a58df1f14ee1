package engine

import (
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/cocin-dev/cocin/internal/logs"
)

// LogsOptions are `logs`' flags.
type LogsOptions struct {
	Follow     bool
	Tail       int // -1: all
	Timestamps bool
	Since      time.Time
	Until      time.Time
}

// Logs prints a container's log; with Follow it ends when the container
// stops.
func (e *Engine) Logs(ref string, o LogsOptions, st Streams) error {
	c, err := e.Lookup(ref)
	if err != nil {
		return err
	}
	ro := logs.ReadOptions{Tail: o.Tail, Since: o.Since, Until: o.Until, Timestamps: o.Timestamps, Follow: o.Follow}
	ro.Done = func() bool {
		cur, err := e.Containers.Get(c.ID)
		if err == nil {
			cur = e.refresh(cur)
		}
		return cur == nil || !IsRunning(cur)
	}
	if ro.Follow && !IsRunning(c) {
		ro.Follow = false
	}
	if _, err := os.Stat(c.LogPath); os.IsNotExist(err) {
		if !ro.Follow {
			return nil
		}
	}
	return logs.Read(c.LogPath, ro, st.Stdout, st.Stderr)
}

// writeJSON is used by commands printing JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, v) }
