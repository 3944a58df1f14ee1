package cli

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cocin-dev/cocin/internal/state"
)

// psFilter is `ps --filter`, checked and compiled once for all
// containers: values of the same key OR, different keys AND (Docker's
// rule).
type psFilter struct {
	byKey  map[string][]string
	names  []*regexp.Regexp
	exited []int
	before time.Time // zero: no before=
	since  time.Time // zero: no since=
}

// validStatuses are the values Docker accepts for status=.
var validStatuses = []string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}

// psFilterKeys are the keys cocin implements. Docker also knows label,
// health, isolation, is-task, publish and expose; cocin containers have
// no labels or health checks, so those are refused rather than ignored.
var psFilterKeys = []string{"ancestor", "before", "exited", "id", "name", "network", "since", "status", "volume"}

var dockerOnlyPsFilterKeys = []string{"label", "health", "isolation", "is-task", "publish", "expose"}

// compilePsFilter parses the --filter values; cs (every container) is
// where before= and since= look their reference container up.
func compilePsFilter(filters []string, cs []*state.Container) (*psFilter, error) {
	f := &psFilter{byKey: map[string][]string{}}
	for _, kv := range filters {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", kv)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if err := f.add(k, v, cs); err != nil {
			return nil, err
		}
		f.byKey[k] = append(f.byKey[k], v)
	}
	return f, nil
}

// add checks one key=value and keeps what matching needs precompiled.
func (f *psFilter) add(k, v string, cs []*state.Container) error {
	switch {
	case slices.Contains(dockerOnlyPsFilterKeys, k):
		return fmt.Errorf("filter '%s' is not supported by cocin", k)
	case !slices.Contains(psFilterKeys, k):
		return fmt.Errorf("invalid filter '%s'", k)
	}
	switch k {
	case "status":
		if !slices.Contains(validStatuses, v) {
			return fmt.Errorf("invalid filter 'status=%s'", v)
		}
	case "name":
		re, err := regexp.Compile(v)
		if err != nil {
			return fmt.Errorf("invalid filter 'name=%s': %w", v, err)
		}
		f.names = append(f.names, re)
	case "exited":
		code, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid filter 'exited=%s': not an exit code", v)
		}
		f.exited = append(f.exited, code)
	case "before", "since":
		ref := findContainer(cs, v)
		if ref == nil {
			return fmt.Errorf("no such container: %s", v)
		}
		// Several values: the narrowest, as Docker's last-one-wins is
		// order-dependent and this gives the same answer for one value.
		if k == "before" && (f.before.IsZero() || ref.Created.Before(f.before)) {
			f.before = ref.Created
		}
		if k == "since" && ref.Created.After(f.since) {
			f.since = ref.Created
		}
	}
	return nil
}

// findContainer finds a container by exact name, full ID or unique ID
// prefix among cs.
func findContainer(cs []*state.Container, ref string) *state.Container {
	var found *state.Container
	for _, c := range cs {
		if c.Name == ref || c.ID == ref {
			return c
		}
		if strings.HasPrefix(c.ID, ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = c
		}
	}
	return found
}

// match reports whether c passes every key; networks are its network
// names (ps computes them anyway).
func (f *psFilter) match(c *state.Container, networks []string) bool {
	if !f.before.IsZero() && !c.Created.Before(f.before) {
		return false
	}
	if !f.since.IsZero() && !c.Created.After(f.since) {
		return false
	}
	for k, vals := range f.byKey {
		if k == "before" || k == "since" {
			continue
		}
		if !f.matchKey(c, k, vals, networks) {
			return false
		}
	}
	return true
}

func (f *psFilter) matchKey(c *state.Container, k string, vals []string, networks []string) bool {
	switch k {
	case "name":
		// Docker matches the regexp against "/NAME", unanchored.
		return slices.ContainsFunc(f.names, func(re *regexp.Regexp) bool {
			return re.MatchString(c.Name) || re.MatchString("/"+c.Name)
		})
	case "exited":
		return c.State.Status == state.Exited && slices.Contains(f.exited, c.State.ExitCode)
	}
	return slices.ContainsFunc(vals, func(v string) bool { return matchValue(c, k, v, networks) })
}

// matchValue tests one value of the keys whose values need no compiling.
func matchValue(c *state.Container, k, v string, networks []string) bool {
	switch k {
	case "status":
		return string(c.State.Status) == v
	case "id":
		return strings.HasPrefix(c.ID, v)
	case "ancestor":
		return c.Image == v || strings.TrimSuffix(c.Image, ":latest") == strings.TrimSuffix(v, ":latest") ||
			strings.HasPrefix(strings.TrimPrefix(c.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
	case "volume":
		return slices.ContainsFunc(c.Mounts, func(m state.Mount) bool {
			return (m.Name != "" && m.Name == v) || m.Destination == v || (m.Type == "bind" && m.Source == v)
		})
	case "network":
		return slices.Contains(networks, v)
	}
	return false
}
