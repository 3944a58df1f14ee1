package integration

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNetworkInspectSettings: inspect shows the container's address,
// gateway, MAC and published ports in Docker's NetworkSettings shape.
func TestNetworkInspectSettings(t *testing.T) {
	nw := newNetwork(t, "--subnet", "10.233.0.0/24")
	c := detached(t, "--network", nw, "--network-alias", "web", "-p", "127.0.0.1::80", "busybox", "sleep", "60")
	var v []struct {
		NetworkSettings struct {
			IPAddress string
			Ports     map[string][]struct{ HostIp, HostPort string }
			Networks  map[string]struct {
				IPAddress, Gateway, MacAddress, NetworkID string
				Aliases                                   []string
			}
		}
	}
	r := mustRun(t, "inspect", c)
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("inspect: %v\n%s", err, r)
	}
	ns := v[0].NetworkSettings
	ep, ok := ns.Networks[nw]
	if !ok || !strings.HasPrefix(ep.IPAddress, "10.233.0.") || ep.Gateway != "10.233.0.1" ||
		!strings.HasPrefix(ep.MacAddress, "02:42:0a:e9:00:") || ep.NetworkID == "" || len(ep.Aliases) != 1 {
		t.Fatalf("Networks[%s] = %+v in %s", nw, ep, r.Stdout)
	}
	if ns.IPAddress != "" {
		t.Errorf("top-level IPAddress %q for a user-defined network (Docker leaves it empty)", ns.IPAddress)
	}
	b := ns.Ports["80/tcp"]
	if len(b) != 1 || b[0].HostIp != "127.0.0.1" || b[0].HostPort == "" || b[0].HostPort == "0" {
		t.Fatalf("Ports = %v", ns.Ports)
	}
	out := mustRun(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", detached(t, "busybox", "sleep", "60")).Stdout
	if !strings.Contains(out, ".") {
		t.Fatalf("default network IPAddress = %q", out)
	}
}
