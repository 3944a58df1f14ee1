package events

import (
	"errors"
	"strings"
)

// Filter selects events with Docker's --filter keys: type, event (the
// action), container (ID or name, or a prefix of either), image. Values of
// one key are alternatives; different keys must all match. Labels are not
// in the log's records, so Docker's label key is not offered.
type Filter map[string][]string

// filterKeys are the keys Match understands.
var filterKeys = map[string]bool{"type": true, "event": true, "container": true, "image": true}

// FilterKeyError is an unknown filter key. Docker's daemon rejects it with
// this text, and its CLI then exits 1 (not 125, as for a malformed flag).
type FilterKeyError struct{ Key string }

func (e *FilterKeyError) Error() string { return "invalid filter '" + e.Key + "'" }

// ParseFilters parses key=value filters.
func ParseFilters(fs []string) (Filter, error) {
	f := Filter{}
	for _, s := range fs {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errors.New("bad format of filter (expected name=value): " + s)
		}
		// Docker's CLI trims both and lowercases the key.
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !filterKeys[k] {
			return nil, &FilterKeyError{Key: k}
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// Match reports whether ev passes the filter.
func (f Filter) Match(ev Event) bool {
	for k, vals := range f {
		if len(vals) > 0 && !anyValue(vals, func(v string) bool { return matchKey(k, v, ev) }) {
			return false
		}
	}
	return true
}

func anyValue(vals []string, ok func(string) bool) bool {
	for _, v := range vals {
		if ok(v) {
			return true
		}
	}
	return false
}

func matchKey(key, v string, ev Event) bool {
	switch key {
	case "type":
		return ev.Type == v
	case "event":
		return matchAction(v, ev.Action)
	case "container":
		return ev.Type == "container" && v != "" &&
			(strings.HasPrefix(ev.ID, v) || strings.HasPrefix(ev.Name, v))
	case "image":
		return ev.Image != "" && (ev.Image == v || stripTag(ev.Image) == v)
	}
	return false
}

// matchAction compares an action exactly, except that exec and health
// actions carry their details ("exec_start: sh -c ...", "health_status:
// healthy"): a filter naming only the action matches them all, as Docker's.
func matchAction(v, action string) bool {
	switch v {
	case "exec_create", "exec_start", "health_status":
		return action == v || strings.HasPrefix(action, v+":")
	}
	return action == v
}

// stripTag drops an image reference's tag and digest: image=busybox
// matches containers of busybox:1.36, while image=busybox:1.36 matches only
// that tag.
func stripTag(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}
