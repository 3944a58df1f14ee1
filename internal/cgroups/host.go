package cgroups

import "strings"

// SwapLimitSupported reports whether this host's kernel can limit swap:
// v1 needs swap accounting (memory.memsw.* at the memory root), v2 a
// delegable memory controller (memory.swap.max exists in every non-root
// memory cgroup when the kernel has swap control).
func SwapLimitSupported() bool {
	f, err := host()
	if err != nil {
		return false
	}
	return f.swapLimitSupported()
}

func (f *fsys) swapLimitSupported() bool {
	if f.version == V1 {
		dir, ok := f.mounts["memory"]
		return ok && exists(dir, memswFile)
	}
	ctrls, err := readFile(f.root, "cgroup.controllers")
	return err == nil && strings.Contains(" "+strings.TrimSpace(ctrls)+" ", " memory ")
}
