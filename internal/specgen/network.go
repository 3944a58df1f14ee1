package specgen

import specs "github.com/opencontainers/runtime-spec/specs-go"

// NetworkOptions shape the spec's network namespace.
type NetworkOptions struct {
	// Host shares the host's network namespace (--network host).
	Host bool
	// Path joins an existing network namespace (--network container:NAME).
	Path string
}

// applyNetwork drops the network namespace for --network host, or points
// it at another container's.
func applyNetwork(s *specs.Spec, o NetworkOptions) {
	if o.Path != "" {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = o.Path
			}
		}
		return
	}
	if !o.Host {
		return
	}
	ns := s.Linux.Namespaces[:0]
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
}
