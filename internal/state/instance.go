package state

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// DefaultRoot is cocin's default data root.
const DefaultRoot = "/var/lib/cocin"

// InstanceTag tells installations apart in names they share with the host
// (cgroup parent, bridge, nftables table): "" for the default root, else
// six hex digits of a hash of the root's path, so that private roots (tests,
// a second installation) never touch each other's.
func InstanceTag(root string) string {
	root = filepath.Clean(root)
	if root == DefaultRoot {
		return ""
	}
	sum := sha256.Sum256([]byte(root))
	return hex.EncodeToString(sum[:])[:6]
}

// DefaultCgroupParent is the parent cgroup of an installation's
// containers: "cocin" for the default root, "cocin-TAG" for another.
func DefaultCgroupParent(root string) string {
	if t := InstanceTag(root); t != "" {
		return "cocin-" + t
	}
	return "cocin"
}
