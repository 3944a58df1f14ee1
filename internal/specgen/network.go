package specgen

import specs "github.com/opencontainers/runtime-spec/specs-go"

// NetworkOptions shape the spec's network namespace.
type NetworkOptions struct {
	// Host shares the host's network namespace (--network host).
	Host bool
}

// applyNetwork drops the network namespace for --network host.
func applyNetwork(s *specs.Spec, o NetworkOptions) {
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
