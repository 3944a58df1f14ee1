package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Execution domains of personality(2) the spec can name.
const (
	perLinux   = 0x0000
	perLinux32 = 0x0008
)

// setPersonality sets the execution domain, which execve keeps: LINUX32
// makes uname report a 32-bit machine, as `linux32` does.
func setPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	var dom uintptr
	switch p.Domain {
	case specs.PerLinux:
		dom = perLinux
	case specs.PerLinux32:
		dom = perLinux32
	default:
		return fmt.Errorf("unknown personality domain %q", p.Domain)
	}
	if len(p.Flags) > 0 {
		return fmt.Errorf("personality flags are not supported: %v", p.Flags)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, dom, 0, 0); e != 0 {
		return fmt.Errorf("set personality %s: %w", p.Domain, e)
	}
	return nil
}
