package cli

import (
	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/pflag"
)

// addNetworkFlags registers run's and create's network flags.
func addNetworkFlags(f *pflag.FlagSet, o *engine.NetOptions) {
	f.StringVar(&o.Network, "network", "bridge", "connect the container to a network: bridge, none, host or a network's name")
	f.StringVar(&o.Network, "net", "bridge", "alias of --network")
	_ = f.MarkHidden("net")
	f.StringVar(&o.IP, "ip", "", "IPv4 address on a user-defined network")
	f.StringArrayVar(&o.Aliases, "network-alias", nil, "add a network-scoped alias for the container")
	f.StringArrayVarP(&o.Publish, "publish", "p", nil, "publish a container's port to the host: [IP:][HOST:]CONTAINER[/PROTO], ranges allowed")
	f.BoolVarP(&o.PublishAll, "publish-all", "P", false, "publish all exposed ports to free host ports")
	f.StringArrayVar(&o.AddHosts, "add-host", nil, "add a custom host-to-IP mapping (NAME:IP)")
	f.StringArrayVar(&o.DNS, "dns", nil, "set custom DNS servers")
	f.StringArrayVar(&o.DNSSearch, "dns-search", nil, "set custom DNS search domains")
}
