package runtime

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// credentials is the identity the process takes just before execve.
type credentials struct {
	uid, gid uint32
	groups   []uint32
	caps     capability.Capabilities
	nnp      bool
	umask    *uint32
	// keepSysAdmin holds CAP_SYS_ADMIN past apply so that a seccomp filter
	// can be installed last without no_new_privs; dropKept lets it go.
	keepSysAdmin bool
}

// newCredentials parses the spec's user and capabilities early, so that a
// bad configuration fails create rather than start.
func (p *initProc) newCredentials() (*credentials, error) {
	u := p.spec.Process.User
	cr := &credentials{uid: u.UID, gid: u.GID, groups: u.AdditionalGids, nnp: p.spec.Process.NoNewPrivileges, umask: u.Umask}
	if pc := p.spec.Process.Capabilities; pc != nil {
		caps, err := capability.NewPid2(0)
		if err != nil {
			return nil, err
		}
		caps.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
		sets := []struct {
			which capability.CapType
			names []string
		}{
			{capability.BOUNDING, pc.Bounding}, {capability.EFFECTIVE, pc.Effective},
			{capability.PERMITTED, pc.Permitted}, {capability.INHERITABLE, pc.Inheritable},
			{capability.AMBIENT, pc.Ambient},
		}
		for _, s := range sets {
			for _, n := range s.names {
				c, ok, err := capByName(n)
				if err != nil {
					return nil, err
				}
				if ok {
					caps.Set(s.which, c)
				}
			}
		}
		cr.caps = caps
		cr.keepSysAdmin = p.cfg.Seccomp != nil && !cr.nnp && !caps.Get(capability.PERMITTED, capability.CAP_SYS_ADMIN)
	}
	return cr, nil
}

var capNames map[string]capability.Cap

// capByName maps "CAP_NET_ADMIN" to its value. ok is false for a
// capability this kernel does not know, which is skipped as runc does.
func capByName(name string) (capability.Cap, bool, error) {
	if capNames == nil {
		capNames = map[string]capability.Cap{}
		for _, c := range capability.ListKnown() {
			capNames["CAP_"+strings.ToUpper(c.String())] = c
		}
	}
	c, ok := capNames[strings.ToUpper(name)]
	if !ok {
		return 0, false, fmt.Errorf("unknown capability %q", name)
	}
	last, err := capability.LastCap()
	if err != nil {
		return 0, false, err
	}
	return c, c <= last, nil
}

// apply switches to the process's user and capabilities on this thread:
// bounding set first (it needs CAP_SETPCAP), then groups and ids with
// capabilities kept across the uid change, then the final sets.
func (cr *credentials) apply() error {
	if cr.caps != nil {
		if err := cr.caps.Apply(capability.BOUNDS); err != nil {
			return fmt.Errorf("drop bounding capabilities: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := rawSetgroups(cr.groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(cr.gid), uintptr(cr.gid), uintptr(cr.gid)); e != 0 {
		return fmt.Errorf("setgid %d: %w", cr.gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(cr.uid), uintptr(cr.uid), uintptr(cr.uid)); e != 0 {
		return fmt.Errorf("setuid %d: %w", cr.uid, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return err
	}
	if cr.caps != nil {
		if cr.keepSysAdmin {
			cr.caps.Set(capability.EFFECTIVE|capability.PERMITTED, capability.CAP_SYS_ADMIN)
		}
		if err := cr.caps.Apply(capability.CAPS | capability.AMBS); err != nil {
			return fmt.Errorf("set capabilities: %w", err)
		}
	}
	if cr.umask != nil {
		unix.Umask(int(*cr.umask))
	}
	if cr.nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

// dropKept removes the CAP_SYS_ADMIN apply kept for the seccomp install.
func (cr *credentials) dropKept() error {
	if !cr.keepSysAdmin {
		return nil
	}
	cr.caps.Unset(capability.EFFECTIVE|capability.PERMITTED, capability.CAP_SYS_ADMIN)
	if err := cr.caps.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("drop CAP_SYS_ADMIN after seccomp: %w", err)
	}
	return nil
}

// rawSetgroups changes only this thread's groups: the process is about to
// execve from it, and Go's all-threads variant is unavailable with cgo.
func rawSetgroups(groups []uint32) error {
	if len(groups) == 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return e
		}
		return nil
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0); e != 0 {
		return e
	}
	return nil
}

var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

func rlimitByName(name string) (int, bool) {
	r, ok := rlimits[name]
	return r, ok
}

// RlimitNames lists the rlimit names the spec may use.
func RlimitNames() []string {
	out := make([]string, 0, len(rlimits))
	for k := range rlimits {
		out = append(out, k)
	}
	return out
}
