package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/volume"
)

// VolumeCreate makes a named volume (or an anonymous one when name is
// ""). Creating an existing name returns it, as Docker does.
func (e *Engine) VolumeCreate(name string, labels map[string]string) (*volume.Volume, error) {
	if name == "" {
		name = volume.NewAnonymousName()
	}
	v, err := e.volumes().Create(name, labels)
	if errors.Is(err, volume.ErrExists) {
		return v, nil
	}
	return v, err
}

// VolumeInspect returns a volume's record.
func (e *Engine) VolumeInspect(name string) (*volume.Volume, error) {
	return e.volumes().Get(name)
}

// volumeUsers maps each volume name to the containers (names) that
// mount it, from the container records.
func (e *Engine) volumeUsers() (map[string][]string, error) {
	cs, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, c := range cs {
		for _, m := range c.Mounts {
			if m.Type == "volume" {
				users[m.Name] = append(users[m.Name], c.Name)
			}
		}
	}
	return users, nil
}

// VolumeList returns the volumes matching every filter: name=SUBSTR,
// label=KEY[=VALUE], dangling=true|false, driver=local.
func (e *Engine) VolumeList(filters []string) ([]*volume.Volume, error) {
	vs, err := e.volumes().List()
	if err != nil {
		return nil, err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return nil, err
	}
	var out []*volume.Volume
	for _, v := range vs {
		ok, err := matchVolume(v, len(users[v.Name]) > 0, filters)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

func matchVolume(v *volume.Volume, used bool, filters []string) (bool, error) {
	for _, f := range filters {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return false, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		var match bool
		switch k {
		case "name":
			match = strings.Contains(v.Name, val)
		case "driver":
			match = v.Driver == val
		case "dangling":
			if val != "true" && val != "false" && val != "1" && val != "0" {
				return false, fmt.Errorf("invalid filter 'dangling=%s': want true or false", val)
			}
			match = used == (val == "false" || val == "0")
		case "label":
			lk, lv, hasValue := strings.Cut(val, "=")
			got, has := v.Labels[lk]
			match = has && (!hasValue || got == lv)
		default:
			return false, fmt.Errorf("invalid filter %q", k)
		}
		if !match {
			return false, nil
		}
	}
	return true, nil
}

// VolumeRemove deletes a volume that no container uses; force only
// makes a missing volume no error (Docker's -f).
func (e *Engine) VolumeRemove(name string, force bool) error {
	users, err := e.volumeUsers()
	if err != nil {
		return err
	}
	if u := users[name]; len(u) > 0 {
		return fmt.Errorf("remove %s: volume is in use by container(s) %s", name, strings.Join(u, ", "))
	}
	err = e.volumes().Remove(name)
	if force && errors.Is(err, volume.ErrNotFound) {
		return nil
	}
	return err
}

// VolumePrune removes the unused anonymous volumes, or with all every
// unused volume (Docker 23's rule), and returns their names and the bytes
// their data took.
func (e *Engine) VolumePrune(all bool, filters []string) ([]string, int64, error) {
	vs, err := e.VolumeList(append(filters, "dangling=true"))
	if err != nil {
		return nil, 0, err
	}
	var removed []string
	var freed int64
	for _, v := range vs {
		if !all && !v.Anonymous() {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := e.volumes().Remove(v.Name); err != nil {
			return removed, freed, err
		}
		removed = append(removed, v.Name)
		freed += size
	}
	return removed, freed, nil
}

// removeAnonymousVolumes deletes the anonymous volumes of a removed
// container that no other container mounts (rm -v, --rm).
func (e *Engine) removeAnonymousVolumes(c *state.Container) {
	users, err := e.volumeUsers()
	if err != nil {
		return
	}
	vs := e.volumes()
	for _, m := range c.Mounts {
		if m.Type != "volume" || len(users[m.Name]) > 0 {
			continue
		}
		if v, err := vs.Get(m.Name); err == nil && v.Anonymous() {
			_ = vs.Remove(m.Name)
		}
	}
}
