package specgen

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Security holds the run flags that confine (or free) a container:
// --cap-add/--cap-drop, --privileged, --security-opt, --ulimit, --sysctl,
// --device and --device-cgroup-rule.
type Security struct {
	CapAdd, CapDrop   []string
	Privileged        bool
	SecurityOpts      []string
	Ulimits           []string
	Sysctls           []string
	Devices           []string
	DeviceCgroupRules []string
}

// applySecurity turns the flags into the spec: capabilities first, since
// the default seccomp profile depends on them.
func applySecurity(s *specs.Spec, o *Security) error {
	opts, err := parseSecurityOpts(o.SecurityOpts)
	if err != nil {
		return err
	}
	caps, err := TweakCapabilities(DefaultCapabilities, o.CapAdd, o.CapDrop, o.Privileged)
	if err != nil {
		return err
	}
	s.Process.Capabilities = capabilitySets(caps, s.Process.User.UID)
	s.Process.NoNewPrivileges = opts.noNewPrivs
	if o.Privileged {
		if err := privileged(s); err != nil {
			return err
		}
	}
	if err := applySeccomp(s, opts.seccomp, o.Privileged); err != nil {
		return err
	}
	if err := applyUlimits(s, o.Ulimits); err != nil {
		return err
	}
	if err := applySysctls(s, o.Sysctls); err != nil {
		return err
	}
	if err := applyDevices(s, o.Devices); err != nil {
		return err
	}
	return applyDeviceCgroupRules(s, o.DeviceCgroupRules)
}

// capabilitySets gives root the set in bounding, effective and permitted;
// another user gets it in the bounding set only, reachable through file
// capabilities and setuid binaries, as Docker does. Inheritable stays empty
// (CVE-2022-24769) and ambient is never set by default.
func capabilitySets(caps []string, uid uint32) *specs.LinuxCapabilities {
	c := &specs.LinuxCapabilities{Bounding: caps}
	if uid == 0 {
		c.Effective, c.Permitted = caps, caps
	}
	return c
}

// AllCapabilities lists the capabilities in cocin's own bounding set: what
// --privileged and --cap-add ALL can really grant (a host that withholds
// one, say CAP_SYS_RESOURCE, cannot pass it on), as Podman does.
func AllCapabilities() []string {
	var out []string
	own, err := capability.NewPid2(0)
	if err == nil {
		err = own.Load()
	}
	for _, c := range capability.ListKnown() {
		if err == nil && !own.Get(capability.BOUNDING, c) {
			continue
		}
		out = append(out, capName(c))
	}
	return out
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

func normalizeCap(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n != "ALL" && !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	return n
}

// TweakCapabilities applies --cap-add and --cap-drop to base with Docker's
// rules: "ALL" in drop empties the set before the additions, "ALL" in add
// takes every capability before the drops; --privileged takes all.
func TweakCapabilities(base, add, drop []string, privileged bool) ([]string, error) {
	all := AllCapabilities()
	known := capability.ListKnown()
	check := func(list []string) ([]string, bool, error) {
		var out []string
		hasAll := false
		for _, c := range list {
			n := normalizeCap(c)
			switch {
			case n == "ALL":
				hasAll = true
			case slices.ContainsFunc(known, func(k capability.Cap) bool { return capName(k) == n }):
				out = append(out, n)
			default:
				return nil, false, fmt.Errorf("invalid capability %q: unknown capability", c)
			}
		}
		return out, hasAll, nil
	}
	adds, addAll, err := check(add)
	if err != nil {
		return nil, err
	}
	drops, dropAll, err := check(drop)
	if err != nil {
		return nil, err
	}
	if privileged {
		return all, nil
	}
	keep := func(c string) bool { return !slices.Contains(drops, c) }
	var set []string
	switch {
	case addAll: // every capability but the dropped ones
		set = slices.DeleteFunc(all, func(c string) bool { return !keep(c) })
	case dropAll: // only the added ones
		set = adds
	default:
		set = slices.DeleteFunc(slices.Clone(base), func(c string) bool { return !keep(c) })
		for _, c := range adds {
			if !slices.Contains(set, c) {
				set = append(set, c)
			}
		}
	}
	return set, nil
}

type securityOpts struct {
	seccomp    string // "", "unconfined" or a profile path
	noNewPrivs bool
}

func parseSecurityOpts(list []string) (securityOpts, error) {
	var o securityOpts
	for _, opt := range list {
		k, v, hasV := strings.Cut(opt, "=")
		if !hasV {
			k, v, hasV = strings.Cut(opt, ":")
		}
		switch k {
		case "seccomp":
			if v == "" {
				return o, fmt.Errorf("invalid --security-opt %q: seccomp needs unconfined or a profile file", opt)
			}
			o.seccomp = v
		case "no-new-privileges":
			switch {
			case !hasV || v == "true":
				o.noNewPrivs = true
			case v == "false":
				o.noNewPrivs = false
			default:
				return o, fmt.Errorf("invalid --security-opt %q: no-new-privileges takes true or false", opt)
			}
		default:
			return o, fmt.Errorf("invalid --security-opt %q: cocin supports seccomp=unconfined|PROFILE.json and no-new-privileges", opt)
		}
	}
	return o, nil
}

// applySeccomp sets Docker's default profile, none for "unconfined" or a
// privileged container (unless a profile file is named), or the profile
// read from a file. Profiles are resolved against the final capabilities.
func applySeccomp(s *specs.Spec, opt string, privileged bool) error {
	var err error
	switch {
	case opt == "unconfined" || (opt == "" && privileged):
		s.Linux.Seccomp = nil
	case opt == "":
		s.Linux.Seccomp, err = seccomp.GetDefaultProfile(s)
	default:
		var b []byte
		if b, err = os.ReadFile(opt); err != nil {
			return fmt.Errorf("seccomp profile: %w", err)
		}
		if s.Linux.Seccomp, err = seccomp.LoadProfile(string(b), s); err != nil {
			return fmt.Errorf("seccomp profile %s: %w", opt, err)
		}
	}
	return err
}

// privileged lifts the default confinement: no masked or read-only paths,
// /sys and the cgroup mount writable, every host device present and allowed.
func privileged(s *specs.Spec) error {
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	for i, m := range s.Mounts {
		if m.Type == "sysfs" || m.Type == "cgroup" {
			s.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
		}
	}
	devs, err := hostDevices("/dev")
	if err != nil {
		return err
	}
	s.Linux.Devices = append(s.Linux.Devices, devs...)
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	return nil
}

func applyUlimits(s *specs.Spec, list []string) error {
	for _, v := range list {
		u, err := units.ParseUlimit(v)
		if err != nil {
			return fmt.Errorf("invalid --ulimit %q: %w", v, err)
		}
		rl, err := u.GetRlimit()
		if err != nil {
			return fmt.Errorf("invalid --ulimit %q: %w", v, err)
		}
		typ := "RLIMIT_" + strings.ToUpper(u.Name)
		s.Process.Rlimits = slices.DeleteFunc(s.Process.Rlimits, func(r specs.POSIXRlimit) bool { return r.Type == typ })
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: typ, Soft: rl.Soft, Hard: rl.Hard})
	}
	return nil
}
