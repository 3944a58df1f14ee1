package specgen

import (
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

// applyStorage adds the resolved mounts after the default ones (so a
// volume on /dev/shm or /tmp wins) and makes the root read-only.
func applyStorage(s *specs.Spec, st *Storage) {
	s.Root.Readonly = st.ReadOnly
	s.Mounts = append(s.Mounts, st.Resolved...)
}
