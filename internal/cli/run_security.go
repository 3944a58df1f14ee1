package cli

import (
	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/pflag"
)

// addSecurityFlags registers the confinement flags of run and create.
func addSecurityFlags(f *pflag.FlagSet, o *engine.RunOptions) {
	s := &o.Security
	f.StringArrayVar(&s.CapAdd, "cap-add", nil, "add Linux capabilities (or ALL)")
	f.StringArrayVar(&s.CapDrop, "cap-drop", nil, "drop Linux capabilities (or ALL)")
	f.BoolVar(&s.Privileged, "privileged", false, "give extended privileges: all capabilities and devices, no seccomp, no masked paths")
	f.StringArrayVar(&s.SecurityOpts, "security-opt", nil, "security options: seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false]")
	f.StringArrayVar(&s.Ulimits, "ulimit", nil, "ulimit options (NAME=SOFT[:HARD], e.g. nofile=1024:2048)")
	f.StringArrayVar(&s.Sysctls, "sysctl", nil, "namespaced kernel parameters (KEY=VALUE)")
	f.StringArrayVar(&s.Devices, "device", nil, "add a host device (HOST[:CONTAINER][:PERMISSIONS])")
	f.StringArrayVar(&s.DeviceCgroupRules, "device-cgroup-rule", nil, `add a rule to the device cgroup ("c 1:3 rwm")`)
}
