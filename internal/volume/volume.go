// Package volume is the store of named volumes: one directory per volume
// under <root>/volumes, holding the data (_data, what containers mount)
// and the record (volume.json). Whether a volume is in use is known from
// the container records, not from here.
package volume

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cocin-dev/cocin/internal/state"
)

// AnonymousLabel marks a volume made for one container (-v /path, an
// image's VOLUME); Docker uses the same label. rm -v and --rm remove
// those, and prune without --all only those.
const AnonymousLabel = "com.docker.volume.anonymous"

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("no such volume")
	ErrExists   = errors.New("volume already exists")
)

// Volume is a volume's record, in Docker's `volume inspect` shape.
type Volume struct {
	CreatedAt  time.Time         `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

// Anonymous reports whether the volume was made for one container.
func (v *Volume) Anonymous() bool { _, ok := v.Labels[AnonymousLabel]; return ok }

// Store is the volume directory.
type Store struct{ dir string }

// Open returns the store rooted at dir; the directory is made on first
// create, so opening costs nothing on the container start path.
func Open(dir string) *Store { return &Store{dir: dir} }

// ValidateName checks Docker's rule for volume names:
// [a-zA-Z0-9][a-zA-Z0-9_.-]+.
func ValidateName(name string) error {
	ok := len(name) >= 2
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		ok = alnum || i > 0 && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; if you intended to pass a host directory, use an absolute path", name)
	}
	return nil
}

// NewAnonymousName returns a fresh name for an anonymous volume: 64 hex
// digits, like a container ID.
func NewAnonymousName() string { return state.NewID() }

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// DataDir is what containers mount for the volume.
func (s *Store) DataDir(name string) string { return filepath.Join(s.path(name), "_data") }

// Create makes a volume. The volume is built in a temporary directory and
// renamed into place, so two racing creates of one name give one volume:
// the loser gets ErrExists with the winner's record.
func (s *Store) Create(name string, labels map[string]string) (*Volume, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if v, err := s.Get(name); err == nil {
		return v, ErrExists
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create volume store: %w", err)
	}
	tmp, err := os.MkdirTemp(s.dir, ".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if labels == nil {
		labels = map[string]string{}
	}
	v := &Volume{
		CreatedAt: time.Now().UTC().Truncate(time.Second), Driver: "local", Labels: labels,
		Mountpoint: s.DataDir(name), Name: name, Options: map[string]string{}, Scope: "local",
	}
	if err := s.writeNew(tmp, v); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, s.path(name)); err != nil {
		if existing, gerr := s.Get(name); gerr == nil {
			return existing, ErrExists
		}
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	return v, nil
}

func (s *Store) writeNew(dir string, v *Volume) error {
	if err := os.Chmod(dir, 0o701); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "_data"), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "volume.json"), b, 0o600)
}

// Get returns a volume's record.
func (s *Store) Get(name string) (*Volume, error) {
	if ValidateName(name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	b, err := os.ReadFile(filepath.Join(s.path(name), "volume.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	v := &Volume{}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("volume %s: bad record: %w", name, err)
	}
	return v, nil
}

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue // temporary directories start with "."
		}
		if v, err := s.Get(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its data. The record goes first (by
// renaming the directory away), so a half-removed volume is never listed.
func (s *Store) Remove(name string) error {
	if _, err := s.Get(name); err != nil {
		return err
	}
	trash, err := os.MkdirTemp(s.dir, ".rm-")
	if err != nil {
		return err
	}
	dead := filepath.Join(trash, "v")
	if err := os.Rename(s.path(name), dead); err != nil {
		os.Remove(trash)
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return os.RemoveAll(trash)
}
