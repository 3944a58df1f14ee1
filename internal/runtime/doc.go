// Package runtime is cocin's OCI runtime: it turns a runtime-spec
// configuration into a running process, as runc does.
//
// The parent side (this file's siblings without "init" in their names) makes
// the state directory, the cgroup and the pipes, and re-executes a sealed copy
// of the cocin binary as the container's init in new namespaces. The init
// side (init.go, rootfs.go, finalize.go) receives the configuration over a
// pipe (never argv or env), prepares the root filesystem, pivots into it,
// reports "ready", waits for start on the exec FIFO and finally execve's the
// user's process, which becomes PID 1.
//
// The file descriptors the init receives are fixed:
//
//	3  configuration pipe (read until EOF)
//	4  status pipe: JSON messages to the parent; close-on-exec, so EOF after
//	   a successful execve tells the parent the command started
//	5  the exec FIFO, opened O_PATH by the parent
//	6  console socket (only when process.terminal is true)
//
// State lives in <root>/<id>/state.json; the container is "created" while the
// FIFO exists, "running" while its init lives, "paused" while frozen and
// "stopped" afterwards.
package runtime
