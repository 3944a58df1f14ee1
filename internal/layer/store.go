package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// ErrNotFound reports a chain ID the store does not hold.
var ErrNotFound = errors.New("layer not found")

// Store is a directory of unpacked layers keyed by chain ID. It is safe
// for use by several processes: every change is a rename.
type Store struct {
	root string
}

// Info describes one unpacked layer (layer.json).
type Info struct {
	ChainID digest.Digest `json:"chainID"`
	DiffID  digest.Digest `json:"diffID"`
	Parent  digest.Digest `json:"parent,omitempty"`
	Size    int64         `json:"size"` // bytes of regular file content
	Created time.Time     `json:"created"`
}

// ChainID returns the OCI chain ID of a layer with the given diff ID on
// top of parent (a chain ID, or "" for the bottom layer).
func ChainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

// ChainIDs returns the chain ID of every layer of a stack given its diff
// IDs, bottom first.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	var parent digest.Digest
	for i, d := range diffIDs {
		parent = ChainID(parent, d)
		out[i] = parent
	}
	return out
}

// Open opens (creating if needed) the layer store at root and removes
// temporary directories left behind by processes that no longer exist.
func Open(root string) (*Store, error) {
	s := &Store{root: root}
	if err := os.MkdirAll(s.tmpDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create layer store: %w", err)
	}
	if err := os.Chmod(root, 0o711); err != nil {
		return nil, fmt.Errorf("create layer store: %w", err)
	}
	s.cleanTmp()
	return s, nil
}

func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }

func (s *Store) layerDir(chainID digest.Digest) string {
	return filepath.Join(s.root, chainID.Encoded())
}

// Dir returns the directory holding the layer's files (its overlay
// lowerdir). It does not check that the layer exists; see Has.
func (s *Store) Dir(chainID digest.Digest) string {
	return filepath.Join(s.layerDir(chainID), "diff")
}

// Has reports whether the layer is unpacked.
func (s *Store) Has(chainID digest.Digest) bool {
	if chainID.Validate() != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(s.layerDir(chainID), "layer.json"))
	return err == nil
}

// Get returns the layer's record.
func (s *Store) Get(chainID digest.Digest) (*Info, error) {
	if err := chainID.Validate(); err != nil {
		return nil, fmt.Errorf("layer %q: %w", chainID, err)
	}
	b, err := os.ReadFile(filepath.Join(s.layerDir(chainID), "layer.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, chainID)
	}
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("layer %s: %w", chainID, err)
	}
	return &info, nil
}

// List returns every unpacked layer.
func (s *Store) List() ([]*Info, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	var out []*Info
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue
		}
		if info, err := s.Get(d); err == nil {
			out = append(out, info)
		}
	}
	return out, nil
}

// Unpack extracts an uncompressed layer tar on top of parent ("" for a
// bottom layer) and returns the new layer's chain ID and size. The diff
// ID is computed from r, which is read to its end. If the layer exists
// already, the fresh copy is thrown away and the existing one returned.
func (s *Store) Unpack(parent digest.Digest, r io.Reader) (digest.Digest, int64, error) {
	if parent != "" && !s.Has(parent) {
		return "", 0, fmt.Errorf("unpack layer: parent %w: %s", ErrNotFound, parent)
	}
	tmp, err := os.MkdirTemp(s.tmpDir(), strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", 0, fmt.Errorf("unpack layer: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place

	info, err := s.unpackTo(tmp, parent, r)
	if err != nil {
		return "", 0, fmt.Errorf("unpack layer: %w", err)
	}
	if err := os.Rename(tmp, s.layerDir(info.ChainID)); err != nil {
		if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
			return "", 0, fmt.Errorf("unpack layer %s: %w", info.ChainID, err)
		}
		// Someone else unpacked the same layer meanwhile: keep theirs.
		existing, err := s.Get(info.ChainID)
		if err != nil {
			return "", 0, err
		}
		return existing.ChainID, existing.Size, nil
	}
	return info.ChainID, info.Size, nil
}

// unpackTo extracts r into tmp/diff and writes tmp/layer.json.
func (s *Store) unpackTo(tmp string, parent digest.Digest, r io.Reader) (*Info, error) {
	diff := filepath.Join(tmp, "diff")
	if err := os.Mkdir(diff, 0o755); err != nil {
		return nil, err
	}
	h := sha256.New()
	tee := io.TeeReader(r, h)
	size, err := extract(diff, tar.NewReader(tee))
	if err != nil {
		return nil, err
	}
	// The diff ID covers the whole stream, including the end-of-archive
	// blocks and padding the tar reader does not consume.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, err
	}
	diffID := digest.NewDigest(digest.SHA256, h)
	info := &Info{ChainID: ChainID(parent, diffID), DiffID: diffID, Parent: parent, Size: size, Created: time.Now().UTC()}
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "layer.json"), b, 0o644); err != nil {
		return nil, err
	}
	// Make the files durable before the rename publishes them: after a
	// crash a layer directory must never be half written.
	return info, syncfs(tmp)
}

func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// Remove deletes a layer. The caller (the image store) knows that no
// image and no mounted container uses it. A missing layer is no error.
func (s *Store) Remove(chainID digest.Digest) error {
	if err := chainID.Validate(); err != nil {
		return fmt.Errorf("remove layer %q: %w", chainID, err)
	}
	// Rename first so the layer vanishes at once; a crash during the
	// slow RemoveAll leaves only a tmp directory.
	tmp := filepath.Join(s.tmpDir(), fmt.Sprintf("%d-rm-%s", os.Getpid(), chainID.Encoded()))
	if err := os.Rename(s.layerDir(chainID), tmp); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	return nil
}

// Prune removes every layer for which keep returns false, and temporary
// directories of processes that are gone. keep must hold every chain ID
// any image or container still needs (all of a stack, not only its top).
func (s *Store) Prune(keep func(chainID digest.Digest) bool) ([]digest.Digest, error) {
	s.cleanTmp()
	infos, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []digest.Digest
	for _, info := range infos {
		if keep(info.ChainID) {
			continue
		}
		if err := s.Remove(info.ChainID); err != nil {
			return removed, err
		}
		removed = append(removed, info.ChainID)
	}
	return removed, nil
}

// cleanTmp removes tmp entries whose owner process is gone. Entry names
// start with the owner's pid; the live owner of one may still be using it.
func (s *Store) cleanTmp() {
	ents, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		pidStr, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid > 0 && processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
	}
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
