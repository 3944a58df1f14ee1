package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ownMountNamespace reports whether the init gets a mount namespace of its
// own (created, not joined by path). Without one, the init works in a
// namespace other processes share, as runc does: it leaves the propagation
// of "/" alone, mounts into the rootfs where it is, and enters it with
// chroot, never pivot_root, which would swap everyone's root.
func ownMountNamespace(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// enterByChroot makes the rootfs the process's root without touching the
// mount tree: the only safe way in a shared mount namespace.
func enterByChroot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	return unix.Chdir("/")
}

// checkSharedMounts refuses what a shared mount namespace cannot do
// safely: a read-only root would remount the mount the rootfs lives on,
// the caller's own, read-only.
func checkSharedMounts(spec *specs.Spec) error {
	if !ownMountNamespace(spec) && spec.Root.Readonly {
		return fmt.Errorf("root.readonly needs a mount namespace of the container's own")
	}
	return nil
}
