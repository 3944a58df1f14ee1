// Package state keeps one record per container on disk.
//
// Layout under the store's directory (<root>/containers):
//
//	<id>/container.json   the record, replaced atomically (temp file, fsync, rename)
//	<id>/lock             flock(2) target serialising changes to the record
//	names/<name>          a file holding the owner's ID; created with O_EXCL,
//	                      so two concurrent `run --name x` give one winner
//
// A record is read without a lock (renames are atomic) and changed under the
// container's lock with Update.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Status is a container's lifecycle state, as Docker names them.
type Status string

// The statuses a record can hold.
const (
	Created    Status = "created"
	Running    Status = "running"
	Paused     Status = "paused"
	Restarting Status = "restarting"
	Removing   Status = "removing"
	Exited     Status = "exited"
	Dead       Status = "dead"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound  = errors.New("no such container")
	ErrAmbiguous = errors.New("ambiguous container ID prefix")
	ErrNameInUse = errors.New("container name already in use")
)

// State is the mutable part of a record.
type State struct {
	Status     Status    `json:"Status"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	OOMKilled  bool      `json:"OOMKilled"`
	Error      string    `json:"Error,omitempty"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
}

// Container is one container's record.
type Container struct {
	ID      string    `json:"Id"`
	Name    string    `json:"Name"`
	Image   string    `json:"Image"`   // what the user typed
	ImageID string    `json:"ImageID"` // sha256:...
	Created time.Time `json:"Created"`
	Path    string    `json:"Path"`
	Args    []string  `json:"Args"`
	State   State     `json:"State"`
	// Dir holds the container's upper/work/merged directories.
	Dir string `json:"Dir"`
	// Rootfs is the merged overlay mount point while mounted.
	Rootfs string `json:"Rootfs"`
	// Spec is the OCI runtime configuration the container was created with.
	Spec json.RawMessage `json:"Spec,omitempty"`
	// Options are the run options that made the spec, kept for inspect and restart.
	Options json.RawMessage `json:"Options,omitempty"`
	// AutoRemove is --rm.
	AutoRemove bool `json:"AutoRemove"`
	// Tty and OpenStdin are -t and -i.
	Tty       bool `json:"Tty"`
	OpenStdin bool `json:"OpenStdin"`
	// RestartPolicy is --restart; RestartCount counts restarts so far.
	RestartPolicy RestartPolicy `json:"RestartPolicy"`
	RestartCount  int           `json:"RestartCount"`
	// ManuallyStopped is set by stop and cleared by start: a stopped
	// container is not restarted by its policy.
	ManuallyStopped bool `json:"ManuallyStopped"`
	// LogPath is the container's log file; LogOptions are --log-opt.
	LogPath    string            `json:"LogPath"`
	LogOptions map[string]string `json:"LogOptions,omitempty"`
	// Owner is the process that is the container's parent (its monitor,
	// or the foreground `run`), with its start time to detect PID reuse.
	Owner      int    `json:"MonitorPid"`
	OwnerStart uint64 `json:"MonitorStart"`
	// StopSignal is --stop-signal, else the image's STOPSIGNAL.
	StopSignal string `json:"StopSignal,omitempty"`
	// StopTimeout is --stop-timeout in seconds (nil: stop's default).
	StopTimeout *int `json:"StopTimeout,omitempty"`
	// Mounts are the container's volumes, bind mounts and tmpfs mounts.
	Mounts []Mount `json:"Mounts,omitempty"`
}

// RestartPolicy is Docker's restart policy.
type RestartPolicy struct {
	Name              string `json:"Name"` // "no", "on-failure", "always", "unless-stopped"
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// Store is the container record store.
type Store struct{ dir string }

// Open returns the store rooted at dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "names"), 0o700); err != nil {
		return nil, fmt.Errorf("create container store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the directory of container id.
func (s *Store) Dir(id string) string { return filepath.Join(s.dir, id) }

// ReserveName claims name for id. It fails with ErrNameInUse if another
// container holds it.
func (s *Store) ReserveName(name, id string) error {
	f, err := os.OpenFile(s.namePath(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			owner, _ := os.ReadFile(s.namePath(name))
			return fmt.Errorf("%w: the container name %q is already in use by container %q; remove (or rename) that container to be able to reuse that name", ErrNameInUse, "/"+name, strings.TrimSpace(string(owner)))
		}
		return fmt.Errorf("reserve name %q: %w", name, err)
	}
	_, werr := f.WriteString(id)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(s.namePath(name))
		return fmt.Errorf("reserve name %q: %w", name, errors.Join(werr, cerr))
	}
	return nil
}

// NameHolder returns the ID that holds name.
func (s *Store) NameHolder(name string) (string, error) {
	b, err := os.ReadFile(s.namePath(name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Names returns every reserved name with the ID holding it.
func (s *Store) Names() map[string]string {
	ents, _ := os.ReadDir(filepath.Join(s.dir, "names"))
	out := map[string]string{}
	for _, e := range ents {
		if id, err := s.NameHolder(e.Name()); err == nil {
			out[e.Name()] = id
		}
	}
	return out
}

// ReleaseName frees name if id holds it.
func (s *Store) ReleaseName(name, id string) {
	b, err := os.ReadFile(s.namePath(name))
	if err == nil && strings.TrimSpace(string(b)) == id {
		_ = os.Remove(s.namePath(name))
	}
}

func (s *Store) namePath(name string) string { return filepath.Join(s.dir, "names", name) }

// Create writes a new record and its directory.
func (s *Store) Create(c *Container) error {
	if err := os.Mkdir(s.Dir(c.ID), 0o700); err != nil {
		return fmt.Errorf("create container dir: %w", err)
	}
	if err := s.write(c); err != nil {
		_ = os.RemoveAll(s.Dir(c.ID))
		return err
	}
	return nil
}

// MakeDir creates the directory of a container whose record is written
// later with Write; a crash in between leaves a directory without a record,
// which List skips and `system prune` removes.
func (s *Store) MakeDir(id string) error {
	if err := os.Mkdir(s.Dir(id), 0o700); err != nil {
		return fmt.Errorf("create container dir: %w", err)
	}
	return nil
}

// Get reads the record of the container with exactly this ID.
func (s *Store) Get(id string) (*Container, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir(id), "container.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, err
	}
	var c Container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read record of %s: %w", id, err)
	}
	if c.Spec == nil { // older records carry it inline
		c.Spec, _ = os.ReadFile(filepath.Join(s.Dir(id), specFile))
	}
	return &c, nil
}

// Update applies fn to the record of id under its lock and writes the result.
// If fn returns an error nothing is written.
func (s *Store) Update(id string, fn func(*Container) error) (*Container, error) {
	unlock, err := s.Lock(id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if err := fn(c); err != nil {
		return c, err
	}
	return c, s.write(c)
}

// Lock takes the container's exclusive lock and returns its release.
func (s *Store) Lock(id string) (func(), error) {
	unlock, err := LockFile(filepath.Join(s.Dir(id), "lock"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return unlock, err
}

// LockFile takes an exclusive flock(2) on path, creating the file, and
// returns its release (closing the file drops the lock). Every store of
// cocin (records, images, networks) serialises its changes with it.
func LockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// Delete removes the record, its directory and its name.
func (s *Store) Delete(c *Container) error {
	// Rename first: a concurrent command that takes the lock or rewrites
	// the record (creating files in the directory) then finds it gone,
	// instead of racing the recursive removal.
	tomb := filepath.Join(s.dir, ".removing-"+c.ID)
	if err := os.Rename(s.Dir(c.ID), tomb); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove container dir: %w", err)
	}
	if err := os.RemoveAll(tomb); err != nil {
		return fmt.Errorf("remove container dir: %w", err)
	}
	if c.Name != "" {
		s.ReleaseName(c.Name, c.ID)
	}
	return nil
}

// RemoveLeftovers deletes directories an interrupted Delete left behind.
func (s *Store) RemoveLeftovers() []string {
	ents, _ := os.ReadDir(s.dir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".removing-") && os.RemoveAll(filepath.Join(s.dir, e.Name())) == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// List returns every record. Records that cannot be read (a crash between
// mkdir and the first write) are skipped.
func (s *Store) List() ([]*Container, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || len(e.Name()) != 64 {
			continue
		}
		if c, err := s.Get(e.Name()); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// Empty tells whether no container exists, not even one still being
// created (its directory comes before its record).
func (s *Store) Empty() bool {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 64 {
			return false
		}
	}
	return true
}

// Resolve finds a container by full ID, name or unique ID prefix.
func (s *Store) Resolve(ref string) (*Container, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty name", ErrNotFound)
	}
	if len(ref) == 64 {
		if c, err := s.Get(ref); err == nil {
			return c, nil
		}
	}
	if b, err := os.ReadFile(s.namePath(strings.TrimPrefix(ref, "/"))); err == nil {
		if c, err := s.Get(strings.TrimSpace(string(b))); err == nil {
			return c, nil
		}
	}
	if !isHex(ref) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var match string
	for _, e := range ents {
		if len(e.Name()) == 64 && strings.HasPrefix(e.Name(), ref) {
			if match != "" {
				return nil, fmt.Errorf("%w: multiple containers found with provided prefix: %s", ErrAmbiguous, ref)
			}
			match = e.Name()
		}
	}
	if match == "" {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return s.Get(match)
}

// specFile holds a container's OCI spec beside its record. The spec is
// most of a record's bytes (the seccomp profile alone is 25 kB) and
// changes only at create and update, while the record changes at every
// start, stop and claim: kept apart, a record is read and rewritten in a
// tenth of the time.
const specFile = "spec.json"

func (s *Store) write(c *Container) error {
	if err := s.writeSpec(c); err != nil {
		return err
	}
	rec := *c
	rec.Spec = nil
	b, err := json.MarshalIndent(&rec, "", "  ")
	if err != nil {
		return err
	}
	return ReplaceFile(filepath.Join(s.Dir(c.ID), "container.json"), b, 0o600)
}

// writeSpec replaces the spec file when the spec differs from it (reading
// it back costs far less than a write).
func (s *Store) writeSpec(c *Container) error {
	if c.Spec == nil {
		return nil
	}
	path := filepath.Join(s.Dir(c.ID), specFile)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, c.Spec) {
		return nil
	}
	return ReplaceFile(path, c.Spec, 0o600)
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old or the new content, never a mix.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, true)
}

// ReplaceFile is WriteFileAtomic without the fsync, for records written on
// every container start and stop: a reader still sees the old or the new
// content, never a mix. A power loss may lose the last change of a record
// (journaling file systems order a rename-over after the data it replaces;
// a new record may come back empty, which List skips and `system prune`
// removes), and the state it described, running processes, is gone anyway.
// Image data keeps the fsync.
func ReplaceFile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, false)
}

func writeFile(path string, data []byte, perm os.FileMode, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Write stores c; the caller holds the container's lock.
func (s *Store) Write(c *Container) error { return s.write(c) }
