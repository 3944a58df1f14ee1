package engine

import securejoin "github.com/cyphar/filepath-securejoin"

// secureJoin resolves a container path inside rootfs.
func secureJoin(rootfs, p string) (string, error) { return securejoin.SecureJoin(rootfs, p) }
