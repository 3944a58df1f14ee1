package nsenter

import (
	"fmt"
	"strings"
)

var knownTypes = map[string]bool{
	"user": true, "mnt": true, "uts": true, "ipc": true,
	"net": true, "pid": true, "cgroup": true, "time": true,
}

// Bootstrap encodes the message the constructor reads from BootstrapFD.
// wait asks the forking parent to stay and reap the child (a detached exec).
func Bootstrap(nss []Namespace, wait bool) ([]byte, error) {
	var b strings.Builder
	for _, ns := range nss {
		if !knownTypes[ns.Type] {
			return nil, fmt.Errorf("unknown namespace type %q", ns.Type)
		}
		if ns.Path == "" || len(ns.Path) > 4095 || strings.ContainsAny(ns.Path, " \t\n") {
			return nil, fmt.Errorf("bad path for the %s namespace: %q", ns.Type, ns.Path)
		}
		fmt.Fprintf(&b, "ns %s %s\n", ns.Type, ns.Path)
	}
	if len(nss) > 16 {
		return nil, fmt.Errorf("too many namespaces: %d", len(nss))
	}
	if wait {
		b.WriteString("wait\n")
	}
	return []byte(b.String()), nil
}
