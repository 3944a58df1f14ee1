package cli

import (
	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/pflag"
)

// addVolumesFlags adds run's file system flags: volumes, bind mounts,
// tmpfs mounts and a read-only root.
func addVolumesFlags(f *pflag.FlagSet, o *engine.RunOptions) {
	s := &o.Storage
	f.StringArrayVarP(&s.Volumes, "volume", "v", nil, "bind mount a host path or mount a volume: /HOST:/CTR[:ro], NAME:/CTR[:ro], or /CTR for an anonymous volume")
	f.StringArrayVar(&s.Mounts, "mount", nil, "attach a mount: type=bind|volume|tmpfs,source=...,target=...[,readonly]")
	f.StringArrayVar(&s.Tmpfs, "tmpfs", nil, "mount a tmpfs: /CTR[:OPTIONS]")
	f.StringArrayVar(&s.VolumesFrom, "volumes-from", nil, "mount the volumes of another container: CTR[:ro|rw]")
	f.BoolVar(&s.ReadOnly, "read-only", false, "mount the container's root filesystem read-only")
}
