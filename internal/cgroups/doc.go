// Package cgroups gives each container one cgroup: a directory per
// controller on cgroup v1, one directory on cgroup v2. It creates the
// container's cgroup below cocin's own parent ("cocin" unless configured),
// writes the runtime-spec resource limits with the conversions runc uses,
// moves processes in, freezes, kills, reads statistics and removes it again.
//
// # Why a small writer of our own instead of opencontainers/cgroups
//
// DESIGN.md suggests runc's opencontainers/cgroups. Its import cost is not the
// problem (fs+fs2 add about 0.03 ms of package init, measured with
// GODEBUG=inittrace=1); these are:
//
//   - Host safety. fs2.CreateCgroupPath writes "+<every controller>" into
//     cgroup.subtree_control of every ancestor, the host's root cgroup
//     included, and it only works below the hard-coded /sys/fs/cgroup. cocin
//     must never reconfigure cgroups it does not own: here the root is only
//     read, and a missing controller is reported, not enabled.
//   - Failing hard (moby#24559). The fs managers skip some requested limits
//     silently, e.g. the v1 swap limit when memory.memsw.* is missing. Every
//     write here returns a *WriteError naming the file and the value the
//     kernel refused, and Create undoes everything it made.
//   - Its API takes its own Resources struct; runc's spec→cgroups conversion
//     lives in runc, not in that module, so we would write the mapping anyway.
//   - v2 device control there needs github.com/cilium/ebpf, a large module
//     that is not in go.mod. The device filter is about 40 eBPF instructions;
//     devices_bpf.go assembles and attaches them with golang.org/x/sys/unix.
//   - Testability: every path here derives from a mount table we can point at
//     a fake cgroupfs tree, so the v1 and v2 writers are tested file by file.
//
// The conversions (cpu.shares→cpu.weight, blkio weight→io.weight, memory+swap
// →memory.swap.max) copy runc's behaviour exactly and are table-tested.
//
// # Layout
//
// v1: <mount of each controller>/<parent>/<name>; cpu and cpuacct (or any
// other co-mounted controllers) share a directory. v2: <root>/<parent>/<name>.
// On hybrid hosts (v1 controllers plus an empty cgroup2 at
// /sys/fs/cgroup/unified) the v1 layout is used; the unified hierarchy is left
// alone. Nothing runs at package init: the host's layout is detected on first
// use and cached.
package cgroups
