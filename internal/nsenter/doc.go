// Package nsenter joins existing namespaces before the Go runtime starts.
//
// Go cannot setns(2) into a mount (or user) namespace once the runtime runs
// several threads, and it always does by the time main starts. So, as runc's
// libcontainer/nsenter does, a C constructor (nsenter.c) runs first, in the
// still single-threaded process. It acts only when argv[0] starts with
// Arg0Prefix and returns at once otherwise, so every other cocin command pays
// one string comparison.
//
// When it acts, it reads a bootstrap message to EOF from descriptor 3:
//
//	ns TYPE PATH    join the namespace at PATH (TYPE: user, mnt, uts, ipc,
//	                net, pid, cgroup, time); repeated
//	wait            see below
//
// It opens every PATH first (so a /proc path means what it meant to the
// caller), joins user first and mnt last, then forks: a pid namespace only
// applies to children, so the Go runtime starts in the child, inside all of
// them. The parent writes {"type":"pid","pid":N} (N in the caller's pid
// namespace) to the status pipe on descriptor 4 and exits; with "wait" it
// instead detaches (new session, stdio on /dev/null, other descriptors
// closed) and reaps the child, for callers that do not wait themselves.
// A failure is reported on descriptor 4 as {"type":"error",...,"code":125}
// and ends the process with 125.
//
// Importing this package (blank import from cmd/cocin) links the
// constructor in; it requires cgo.
package nsenter

// #cgo CFLAGS: -Wall -Wextra -O2
import "C"

// Arg0Prefix is the argv[0] prefix that makes the constructor act.
const Arg0Prefix = "cocin-nsenter"

// Fixed descriptors of the protocol.
const (
	BootstrapFD = 3
	StatusFD    = 4
)

// Namespace is one namespace to join: Type as in /proc/PID/ns (user, mnt,
// uts, ipc, net, pid, cgroup, time) and the path of its file.
type Namespace struct {
	Type string
	Path string
}
