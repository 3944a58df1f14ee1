package runtime

import (
	"fmt"
	"os/exec"
	goruntime "runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nsFlag maps a namespace type to its CLONE_NEW* flag.
var nsFlag = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

// joinedNamespaces lists the spec's namespaces given by path.
func joinedNamespaces(spec *specs.Spec) []specs.LinuxNamespace {
	if spec.Linux == nil {
		return nil
	}
	var out []specs.LinuxNamespace
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			out = append(out, ns)
		}
	}
	return out
}

// startJoined starts cmd from a thread that has first entered the
// namespaces given by path: the clone inherits that thread's namespaces
// (and, for pid and time, the namespace its children are born into).
// Namespaces are per thread in Linux, so the work happens on a locked
// thread that is thrown away afterwards (never unlocked) rather than
// returned, altered, to the Go scheduler. A user namespace cannot be
// joined this way: setns(CLONE_NEWUSER) needs a single-threaded process.
func startJoined(cmd *exec.Cmd, nss []specs.LinuxNamespace) error {
	if len(nss) == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		errc <- enterAndStart(cmd, nss)
	}()
	return <-errc
}

func enterAndStart(cmd *exec.Cmd, nss []specs.LinuxNamespace) error {
	// Go's threads share one fs_struct, which setns into a mount
	// namespace refuses: give this thread its own first.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs: %w", err)
	}
	for _, ns := range nss {
		if err := setnsPath(ns); err != nil {
			return err
		}
	}
	return cmd.Start()
}

func setnsPath(ns specs.LinuxNamespace) error {
	flag, ok := nsFlag[ns.Type]
	if !ok {
		return fmt.Errorf("unknown namespace type %q", ns.Type)
	}
	if ns.Type == specs.UserNamespace {
		return fmt.Errorf("joining an existing user namespace by path is not supported")
	}
	fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s namespace %s: %w", ns.Type, ns.Path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, flag); err != nil {
		return fmt.Errorf("join %s namespace %s: %w", ns.Type, ns.Path, err)
	}
	return nil
}
