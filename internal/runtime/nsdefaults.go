package runtime

// What a process inside the container gets by default that the host must
// not lend it: a working loopback, and its own /dev/null for unset stdio.

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// loopbackUp sets lo up when asked to and the container has a network
// namespace of its own (one joined by path belongs to its owner). A new
// namespace starts with lo down: 127.0.0.1 would be unreachable.
func (p *initProc) loopbackUp() error {
	if !p.cfg.LoopbackUp || !createsNamespace(p.spec, specs.NetworkNamespace) {
		return nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// createsNamespace tells whether the spec asks for a new namespace of
// type t (listed without a path).
func createsNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

// ownNullStdio replaces standard streams that are the host's /dev/null (the
// runtime's default for a stream nobody gave) with the container's own
// node: a descriptor of the host's inode would let the container's root
// fchmod or fchown the host's /dev/null through /proc/self/fd.
func ownNullStdio() error {
	var mine unix.Stat_t
	if err := unix.Stat("/dev/null", &mine); err != nil {
		return nil // no /dev/null in this rootfs: nothing to swap in
	}
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			continue
		}
		if st.Dev == mine.Dev && st.Ino == mine.Ino {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return err
		}
		nfd, err := unix.Open("/dev/null", flags&unix.O_ACCMODE|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the container's /dev/null: %w", err)
		}
		err = unix.Dup3(nfd, fd, 0)
		unix.Close(nfd)
		if err != nil {
			return fmt.Errorf("stdio on the container's /dev/null: %w", err)
		}
	}
	return nil
}
