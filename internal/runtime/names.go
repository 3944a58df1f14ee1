package runtime

import "sort"

// MountOptionNames lists the mount options the init understands, for the
// runtime's features report.
func MountOptionNames() []string {
	out := make([]string, 0, len(mountFlags)+len(propagationFlags))
	for k := range mountFlags {
		out = append(out, k)
	}
	for k := range propagationFlags {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
