// Package layer keeps unpacked image layers and mounts container root
// filesystems on overlayfs.
//
// # Layout
//
//	<root>/
//	  <chainID hex>/diff/        the layer's files, an overlay lowerdir
//	  <chainID hex>/layer.json   Info: chain ID, diff ID, parent, size
//	  tmp/<pid>-*/               unpacks and removals in progress
//
// A layer is keyed by its OCI chain ID (see ChainID), so a layer is
// unpacked once and shared by every image whose layer stack starts the
// same way. Each diff directory holds only that layer's own changes,
// converted to overlay's format: OCI whiteouts (.wh.<name>) become 0/0
// character devices and opaque markers (.wh..wh..opq) become the
// trusted.overlay.opaque=y xattr on their directory.
//
// # Lifetime
//
// The layer store keeps no reference counts: the image store is the one
// owner that knows which chain IDs its images use, and calls Remove for
// layers no image needs any more. Prune removes every layer outside a
// caller-given keep set plus temporary directories left by crashed
// processes, for `system prune`-style repair.
//
// An unpack writes into tmp/ and renames the finished directory into
// place, so a layer directory either is complete or does not exist. A
// crash leaves only a tmp/<pid>-* directory, which the next Open (once
// that pid is gone) or Prune deletes.
//
// # Safe extraction
//
// Layers are untrusted and extracted as root on the host, so every entry
// is created relative to a directory handle that was resolved inside the
// layer root (github.com/cyphar/filepath-securejoin/pathrs-lite, which
// uses openat2(RESOLVE_IN_ROOT) where the kernel has it). A symlink in a
// layer may point anywhere (it is stored, never followed out of the
// root); a later entry below it lands inside the root. Entries named with
// ".." or an absolute path, and hard links whose target is absolute or
// contains "..", fail the whole unpack. Character and block devices are
// skipped, as containerd does when it cannot trust the image: the
// runtime creates /dev itself, and a device node from an image could
// otherwise hand a container a raw disk. The one exception is a 0/0
// character device, overlay's own whiteout format, which is kept.
// Overlay metadata xattrs (trusted.overlay.*) from the tar are dropped:
// only the whiteout conversion above may set them.
package layer
