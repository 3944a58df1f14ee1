package specgen

import specs "github.com/opencontainers/runtime-spec/specs-go"

// NetworkOptions shape the spec's network namespace.
type NetworkOptions struct {
	// Host shares the host's network namespace (--network host).
	Host bool
	// Path joins an existing network namespace (--network container:NAME).
	Path string
}

// defaultNetSysctls gives a container with a network namespace of its own
// Docker's defaults, unless --sysctl set them: any user may bind ports
// below 1024 and open ICMP echo sockets (ping without CAP_NET_RAW). The
// ping range is left alone in a user namespace, where gids beyond the
// mapping are invalid.
func defaultNetSysctls(s *specs.Spec) {
	own, userns := false, false
	for _, n := range s.Linux.Namespaces {
		own = own || (n.Type == specs.NetworkNamespace && n.Path == "")
		userns = userns || n.Type == specs.UserNamespace
	}
	if !own {
		return
	}
	set := func(k, v string) {
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		if _, ok := s.Linux.Sysctl[k]; !ok {
			s.Linux.Sysctl[k] = v
		}
	}
	set("net.ipv4.ip_unprivileged_port_start", "0")
	if !userns {
		set("net.ipv4.ping_group_range", "0 2147483647")
	}
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
