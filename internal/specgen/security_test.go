package specgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func genSecurity(t *testing.T, sec Security) (*specs.Spec, error) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	return Generate(&ocispec.ImageConfig{Cmd: []string{"sh"}}, &Options{Security: sec}, root, "h")
}

func TestTweakCapabilities(t *testing.T) {
	all := AllCapabilities()
	cases := []struct {
		add, drop []string
		priv      bool
		want      []string
	}{
		{nil, nil, false, DefaultCapabilities},
		{[]string{"net_admin"}, []string{"CAP_CHOWN", "kill"}, false,
			append(slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_CHOWN" || c == "CAP_KILL" }), "CAP_NET_ADMIN")},
		{[]string{"CHOWN"}, []string{"ALL"}, false, []string{"CAP_CHOWN"}},
		{[]string{"ALL"}, []string{"NET_RAW"}, false, slices.DeleteFunc(slices.Clone(all), func(c string) bool { return c == "CAP_NET_RAW" })},
		{nil, []string{"ALL"}, true, all},
	}
	for _, c := range cases {
		got, err := TweakCapabilities(DefaultCapabilities, c.add, c.drop, c.priv)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("add %v drop %v privileged %v: got %v, want %v", c.add, c.drop, c.priv, got, c.want)
		}
	}
	if _, err := TweakCapabilities(DefaultCapabilities, []string{"CAP_NOPE"}, nil, false); err == nil {
		t.Error("an unknown capability should be refused")
	}
}

func TestDefaultSecuritySpec(t *testing.T) {
	s, err := genSecurity(t, Security{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Fatalf("want Docker's default seccomp profile, got %+v", s.Linux.Seccomp)
	}
	if s.Process.NoNewPrivileges || len(s.Process.Capabilities.Inheritable) != 0 || len(s.Process.Capabilities.Ambient) != 0 {
		t.Errorf("no_new_privs, inheritable and ambient must be off by default: %+v", s.Process)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Error("masked and read-only paths missing")
	}
}

func TestPrivilegedSpec(t *testing.T) {
	s, err := genSecurity(t, Security{Privileged: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp != nil || s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Error("privileged: want no seccomp and no masked or read-only paths")
	}
	for _, m := range s.Mounts {
		if m.Type == "sysfs" && slices.Contains(m.Options, "ro") {
			t.Error("privileged: /sys must be writable")
		}
	}
	if len(s.Linux.Resources.Devices) != 1 || !s.Linux.Resources.Devices[0].Allow || s.Linux.Resources.Devices[0].Access != "rwm" {
		t.Errorf("privileged: want every device allowed, got %+v", s.Linux.Resources.Devices)
	}
	if !slices.ContainsFunc(s.Linux.Devices, func(d specs.LinuxDevice) bool { return d.Path == "/dev/null" }) {
		t.Error("privileged: host devices missing")
	}
	// The shared defaults are untouched.
	if len(MaskedPaths) == 0 {
		t.Error("privileged changed the package defaults")
	}
}

func TestSecurityOptions(t *testing.T) {
	s, err := genSecurity(t, Security{SecurityOpts: []string{"seccomp=unconfined", "no-new-privileges"},
		Ulimits: []string{"nofile=10:20"}, Sysctls: []string{"net.ipv4.ip_forward=1", "kernel.shmmax=100"},
		Devices: []string{"/dev/null:/dev/n:r"}, DeviceCgroupRules: []string{"c 4:* rw"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp != nil || !s.Process.NoNewPrivileges {
		t.Error("seccomp=unconfined and no-new-privileges not applied")
	}
	if len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}) {
		t.Errorf("rlimits: %+v", s.Process.Rlimits)
	}
	if s.Linux.Sysctl["net.ipv4.ip_forward"] != "1" || s.Linux.Sysctl["kernel.shmmax"] != "100" {
		t.Errorf("sysctls: %v", s.Linux.Sysctl)
	}
	d := s.Linux.Devices[len(s.Linux.Devices)-1]
	if d.Path != "/dev/n" || d.Major != 1 || d.Minor != 3 {
		t.Errorf("device: %+v", d)
	}
	rules := s.Linux.Resources.Devices
	last, prev := rules[len(rules)-1], rules[len(rules)-2]
	if last.Type != "c" || *last.Major != 4 || last.Minor != nil || last.Access != "rw" || prev.Access != "r" || *prev.Major != 1 {
		t.Errorf("device cgroup rules: %+v %+v", prev, last)
	}
}

func TestSecurityRefusals(t *testing.T) {
	bad := []Security{
		{SecurityOpts: []string{"apparmor=x"}}, {SecurityOpts: []string{"no-new-privileges=maybe"}},
		{SecurityOpts: []string{"seccomp=/nonexistent.json"}},
		{Sysctls: []string{"kernel.panic=1"}}, {Sysctls: []string{"vm.swappiness=1"}}, {Sysctls: []string{"net.a/../../x=1"}},
		{Sysctls: []string{"noequals"}}, {Ulimits: []string{"bogus=1"}}, {Devices: []string{"/etc/passwd"}},
		{Devices: []string{"rel/dev"}}, {Devices: []string{"/dev/null:/dev/n:rwx"}},
		{DeviceCgroupRules: []string{"c 1 rwm"}}, {DeviceCgroupRules: []string{"z 1:2 r"}}, {DeviceCgroupRules: []string{"c a:2 r"}},
		{CapAdd: []string{"FOO"}},
	}
	for _, b := range bad {
		if _, err := genSecurity(t, b); err == nil {
			t.Errorf("%+v: want an error", b)
		} else if !strings.Contains(err.Error(), "invalid") && !strings.Contains(err.Error(), "seccomp") {
			t.Errorf("%+v: error should say what is invalid: %v", b, err)
		}
	}
}

func TestSeccompFollowsCapabilities(t *testing.T) {
	names := func(sec Security) []string {
		s, err := genSecurity(t, sec)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sc := range s.Linux.Seccomp.Syscalls {
			if sc.Action == specs.ActAllow {
				out = append(out, sc.Names...)
			}
		}
		return out
	}
	if slices.Contains(names(Security{}), "mount") {
		t.Error("the default profile must not allow mount without CAP_SYS_ADMIN")
	}
	if !slices.Contains(names(Security{CapAdd: []string{"SYS_ADMIN"}}), "mount") {
		t.Error("with CAP_SYS_ADMIN the profile allows mount")
	}
}

func BenchmarkDefaultSeccompProfile(b *testing.B) {
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCapabilities}}, Linux: &specs.Linux{}}
	for b.Loop() {
		if err := applySeccomp(s, "", false); err != nil {
			b.Fatal(err)
		}
	}
}
