package specgen

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Storage is what the run flags say about the container's file systems.
// The CLI fills the flag values; the engine turns them into Mounts (it
// creates volumes and checks host paths), which Generate then adds.
type Storage struct {
	Volumes     []string // -v HOST:CTR[:OPTS], NAME:CTR[:OPTS], CTR
	Mounts      []string // --mount type=...,source=...,target=...
	Tmpfs       []string // --tmpfs CTR[:OPTS]
	VolumesFrom []string // --volumes-from CTR[:ro|rw]
	ReadOnly    bool     // --read-only

	// Resolved are the spec mounts the engine made of the above, parents
	// before children.
	Resolved []specs.Mount `json:"-"`
}

// applyStorage makes the root read-only and puts the resolved mounts
// after the default ones (so a volume on /dev/shm wins) but before the
// extra ones, the per-container /etc files, which must stay visible
// when a volume covers /etc (Docker's order).
func applyStorage(s *specs.Spec, st *Storage, extra int) {
	s.Root.Readonly = st.ReadOnly
	s.Mounts = slices.Insert(s.Mounts, len(s.Mounts)-extra, st.Resolved...)
}
