// Package cmonitor is the steady state of a container's monitor, in C.
//
// A Go process costs several megabytes of resident memory whatever it does
// (runtime, heap arenas, goroutine stacks, the binary's touched pages), and
// tuning the runtime did not bring the monitor near conmon's size. Yet the
// monitor spends the container's whole life in one small loop: copy output
// to the log and to attached clients, pass input on, reap children. So the
// Go monitor (internal/engine) does the set-up (create, start, network) and
// then execve's the same sealed binary with argv[0] Arg0; the C
// constructor in cmonitor.c recognises it before the Go runtime starts and
// never returns into Go. execve keeps the pid, so the loop is still the
// init's parent and a subreaper, and the container record's owner stays
// true.
//
// Arguments (key=value; descriptors are inherited, every other one is
// marked close-on-exec at once):
//
//	pid=N          the container's init
//	out=FD err=FD  the output pipes, or pty=FD the terminal's master
//	in=FD          where client stdin goes (the stdin pipe or the master)
//	ln=FD cl=FD... the attach listener and already attached clients
//	log=PATH maxsize=N maxfiles=N   the log and its rotation (internal/logs)
//	h=...          opaque, handed back to Go unchanged
//
// The loop writes the log in internal/logs' CRI format with its rotation
// rules, serves clients with internal/engine's attach frames (a client that
// cannot take a frame within two seconds is dropped), and reaps children.
// When the init has exited and the output pipes are drained (bounded), it
// execve's the binary again with argv[0] FinishArg0 and
//
//	status=CODE ln=FD cl=FD... h=...
//
// where Go records the exit, tears down, sends the exit frame and applies
// the restart policy (a restart comes back here).
//
// Importing this package (blank import from cmd/cocin) links the
// constructor in; it requires cgo.
package cmonitor

// #cgo CFLAGS: -Wall -Wextra -O2
import "C"

// Argv[0] of the C loop and of the Go process it hands the exit back to.
const (
	Arg0       = "cocin-monitor-loop"
	FinishArg0 = "cocin-monitor-finish"
)
