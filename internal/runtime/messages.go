package runtime

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Fixed descriptor numbers in the init process (see the package comment).
const (
	fdConfig  = 3
	fdStatus  = 4
	fdFifo    = 5
	fdConsole = 6
)

// InitArg0 is argv[0] of a container init; cmd/cocin dispatches on it.
const InitArg0 = "cocin-init"

// initConfig is what the parent sends to the init over the config pipe.
type initConfig struct {
	Spec    *specs.Spec `json:"spec"`
	Rootfs  string      `json:"rootfs"` // absolute host path
	NoPivot bool        `json:"noPivot,omitempty"`
	// SharedMounts: no mount namespace of the init's own (see
	// ownMountNamespace): no propagation change, chroot instead of pivot.
	SharedMounts bool `json:"sharedMounts,omitempty"`
	Trace        bool `json:"trace,omitempty"`
	// CgroupNS asks the init to unshare a cgroup namespace once the parent
	// has placed it in its cgroup.
	CgroupNS bool `json:"cgroupns,omitempty"`
	// PreserveFDs is the number of extra descriptors passed after fd 6.
	PreserveFDs int `json:"preserveFds,omitempty"`
	// State is the container's state as hooks see it (pid as seen from
	// the host, which the init cannot learn inside its pid namespace).
	State specs.State `json:"state"`
	// HookSync: the init stops before pivot_root, sends "hooks" and waits
	// on the config pipe while the parent runs prestart and createRuntime.
	HookSync bool `json:"hookSync,omitempty"`
	// Seccomp is the spec's filter, compiled by the parent.
	Seccomp *SeccompProgram `json:"seccomp,omitempty"`
	// LoopbackUp: see CreateOpts.
	LoopbackUp bool `json:"loopbackUp,omitempty"`
}

// statusMsg is one message from the init to the parent.
type statusMsg struct {
	Type    string        `json:"type"` // "ready", "hooks", "error" (init); "ok", "error" (parent)
	Message string        `json:"message,omitempty"`
	Code    int           `json:"code,omitempty"` // exit code the failure maps to (126, 127, 1)
	Steps   []*trace.Span `json:"steps,omitempty"`
}

// InitError is a failure the init reported. Code follows Docker: 126 when
// the command cannot be invoked, 127 when it is not found, else 1.
type InitError struct {
	Message string
	Code    int
}

func (e *InitError) Error() string { return e.Message }

func sendStatus(w io.Writer, m statusMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readStatus reads one message; io.EOF means the init closed the pipe (by
// execve or by dying).
func readStatus(d *json.Decoder) (statusMsg, error) {
	var m statusMsg
	if err := d.Decode(&m); err != nil {
		return m, err
	}
	return m, nil
}

func (m statusMsg) err() error {
	if m.Type != "error" {
		return fmt.Errorf("unexpected message %q from container init", m.Type)
	}
	code := m.Code
	if code == 0 {
		code = 1
	}
	return &InitError{Message: m.Message, Code: code}
}

// fileOrNull returns f, or /dev/null opened read-write when f is nil.
func fileOrNull(f *os.File) (*os.File, func(), error) {
	if f != nil {
		return f, func() {}, nil
	}
	n, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	return n, func() { n.Close() }, nil
}
