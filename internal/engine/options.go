package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/docker/go-units"
)

// ParseRestartPolicy parses --restart.
func ParseRestartPolicy(s string) (state.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := state.RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
		if hasCount {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count only goes with on-failure", s)
		}
	case "always", "unless-stopped":
		if hasCount {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count only goes with on-failure", s)
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("invalid restart policy %q: maximum retry count must be a non-negative integer", s)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("invalid restart policy %q: use no, always, unless-stopped or on-failure[:N]", s)
	}
	return p, nil
}

// parseLogOptions checks --log-opt values: max-size (a size) and max-file
// (a positive count).
func parseLogOptions(opts []string) (map[string]string, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("invalid log option %q: want key=value", o)
		}
		switch k {
		case "max-size":
			n, err := units.RAMInBytes(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("invalid log option max-size=%s", v)
			}
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("invalid log option max-file=%s: must be a positive number", v)
			}
		default:
			return nil, fmt.Errorf("unknown log option %q", k)
		}
		out[k] = v
	}
	if _, ok := out["max-file"]; ok {
		if _, ok := out["max-size"]; !ok {
			return nil, fmt.Errorf("max-file needs max-size")
		}
	}
	return out, nil
}

func (e *Engine) cgroupOf(c *state.Container) (*cgroups.Cgroup, error) {
	return cgroups.Load(e.cfg.CgroupParent, c.ID)
}
