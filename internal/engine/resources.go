package engine

import (
	"encoding/json"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkResources validates the resource flags against this machine before
// anything of the container exists, and fills in Docker's defaults.
func checkResources(l *specgen.Limits) error {
	if l.IsZero() {
		return nil
	}
	h, err := probeHost()
	if err != nil {
		return err
	}
	return l.Check(h)
}

// probeHost reads what limits are judged against: online CPUs and NUMA
// nodes from sysfs, the CPUs we may run on, swap limit support.
func probeHost() (specgen.Host, error) {
	h := specgen.Host{NumCPU: goruntime.NumCPU(), SwapLimit: cgroups.SwapLimitSupported()}
	var err error
	if h.CPUs, err = readList("/sys/devices/system/cpu/online"); err != nil {
		return h, err
	}
	// Kernels without NUMA have no node directory: node 0 is all memory.
	h.Mems, err = readList("/sys/devices/system/node/online")
	if os.IsNotExist(err) {
		h.Mems, err = map[int]bool{0: true}, nil
	}
	return h, err
}

func readList(path string) (map[int]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	set, err := specgen.ParseCPUList(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

// limitsOf returns the limits a container was created or last updated with.
func limitsOf(c *state.Container) specgen.Limits {
	var o RunOptions
	_ = json.Unmarshal(c.Options, &o)
	return o.Resources
}

// setLimits records new limits in the container's options (for inspect)
// and in its spec (for its next start).
func setLimits(c *state.Container, l specgen.Limits) error {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(c.Options, &o); err != nil || o == nil {
		o = map[string]json.RawMessage{}
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return err
	}
	o["Resources"] = raw
	if c.Options, err = json.Marshal(o); err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(c.Spec, &spec); err != nil {
		return fmt.Errorf("container spec: %w", err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	if err := specgen.ApplyLimits(&spec, &l); err != nil {
		return err
	}
	c.Spec, err = json.Marshal(&spec)
	return err
}
