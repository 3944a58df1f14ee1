package runtime

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// InstallSeccomp loads a compiled filter on the calling thread. Without
// no_new_privs the kernel wants CAP_SYS_ADMIN in the thread's effective
// set; the init keeps it until this call (see credentials.apply). exec'd
// processes call this too, last before execve, so they are confined as the
// container's process is.
func InstallSeccomp(p *SeccompProgram) error {
	if p == nil {
		return nil
	}
	if len(p.BPF) == 0 || len(p.BPF)%8 != 0 {
		return errors.New("seccomp: malformed BPF program")
	}
	n := len(p.BPF) / 8
	if n > 0xffff {
		return errors.New("seccomp: BPF program too long")
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: (*unix.SockFilter)(unsafe.Pointer(&p.BPF[0]))}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return fmt.Errorf("install seccomp filter: %w", e)
	}
	return nil
}
