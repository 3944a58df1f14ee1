package engine

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Change is one line of `diff`: A (added), C (changed) or D (deleted).
type Change struct {
	Kind string `json:"Kind"`
	Path string `json:"Path"`
}

// Diff lists the changes in the container's filesystem against its image,
// read from its overlay upper directory: a whiteout (a 0/0 character
// device) is a deletion, a path the image has is a change, any other an
// addition. Mount points the runtime made for the container's own mounts
// are not the user's changes and are left out.
func (e *Engine) Diff(ref string) ([]Change, error) {
	c, err := e.Lookup(ref)
	if err != nil {
		return nil, err
	}
	img, err := e.Images.Get(c.ImageID)
	if err != nil {
		return nil, err
	}
	lowers, err := e.Images.LayerDirs(img)
	if err != nil {
		return nil, err
	}
	skip := mountTargets(c.Spec)
	upper := filepath.Join(c.Dir, "upper")
	var out []Change
	err = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == upper {
			return err
		}
		rel := "/" + filepath.ToSlash(strings.TrimPrefix(p, upper+"/"))
		if skip[rel] {
			return nil
		}
		out = append(out, Change{Kind: changeKind(p, d, lowers, rel), Path: rel})
		return nil
	})
	return out, err
}

func changeKind(p string, d fs.DirEntry, lowers []string, rel string) string {
	if d.Type()&fs.ModeCharDevice != 0 {
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Rdev == 0 {
			return "D"
		}
	}
	if inLowers(lowers, rel) {
		return "C"
	}
	return "A"
}

// inLowers reports whether the image's layers (top first) hold rel:
// components are checked one by one with lstat, never following a link,
// and a whiteout in a higher layer hides the path below it.
func inLowers(lowers []string, rel string) bool {
	parts := strings.Split(strings.TrimPrefix(rel, "/"), "/")
	for _, l := range lowers {
		cur := l
		found := true
		for i, part := range parts {
			cur = filepath.Join(cur, part)
			var st unix.Stat_t
			if err := unix.Lstat(cur, &st); err != nil {
				found = false
				break
			}
			if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
				return false // deleted by this layer
			}
			if i < len(parts)-1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}

// mountTargets are the destinations of the container's mounts.
func mountTargets(raw json.RawMessage) map[string]bool {
	var spec specs.Spec
	_ = json.Unmarshal(raw, &spec)
	out := map[string]bool{}
	for _, m := range spec.Mounts {
		out[filepath.Clean(m.Destination)] = true
	}
	return out
}
