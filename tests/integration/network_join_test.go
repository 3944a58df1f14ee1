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

// TestNetworkContainerJoin: --network container:NAME sees NAME's
// interfaces and address and reaches its server on 127.0.0.1; stopping
// NAME while the joiner runs leaves the joiner with lo and no cocin link.
func TestNetworkContainerJoin(t *testing.T) {
	owner := detached(t, "busybox", "sh", "-c", "echo hello-join > /tmp/index.html; exec httpd -f -h /tmp -p 8080")
	mine := mustRun(t, "exec", owner, "ip", "-4", "-o", "addr", "show", "eth0").Stdout
	theirs := mustRun(t, "run", "--rm", "--network", "container:"+owner, "busybox", "ip", "-4", "-o", "addr", "show", "eth0").Stdout
	if addrOf(mine) == "" || addrOf(mine) != addrOf(theirs) {
		t.Fatalf("owner eth0 %q, joiner eth0 %q", mine, theirs)
	}
	var body string
	for i := 0; i < 20 && !strings.Contains(body, "hello-join"); i++ {
		body = cocin(t, "run", "--rm", "--network", "container:"+owner, "busybox", "sh", "-c",
			`printf 'GET / HTTP/1.0\r\n\r\n' | nc 127.0.0.1 8080`).Stdout
	}
	if !strings.Contains(body, "hello-join") {
		t.Fatalf("owner's server not reachable on 127.0.0.1 from the joiner: %q", body)
	}
	host := strings.TrimSpace(mustRun(t, "exec", owner, "hostname").Stdout)
	if got := strings.TrimSpace(mustRun(t, "run", "--rm", "--network", "container:"+owner, "busybox", "hostname").Stdout); got != host {
		t.Errorf("joiner hostname %q, owner's %q", got, host)
	}
	joiner := detached(t, "--network", "container:"+owner, "busybox", "sleep", "60")
	mustRun(t, "stop", "-t", "0", owner)
	links := mustRun(t, "exec", joiner, "ip", "-o", "link").Stdout
	if strings.Contains(links, "eth0") || !strings.Contains(links, "lo") {
		t.Fatalf("joiner after its owner stopped: %s", links)
	}
	r := cocin(t, "run", "--rm", "--network", "container:"+owner, "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, "non running container") {
		t.Fatalf("join of a stopped container: %s", r)
	}
}

func TestNetworkContainerJoinErrors(t *testing.T) {
	owner := detached(t, "busybox", "sleep", "60")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--network", "container:no-such-ctr"}, "no such container"},
		{[]string{"--network", "container:" + owner, "-p", "8081:80"}, "port publishing"},
		{[]string{"--network", "container:" + owner, "--hostname", "x"}, "hostname"},
		{[]string{"--network", "container:" + owner, "--dns", "10.0.0.1"}, "dns"},
	} {
		r := cocin(t, append(append([]string{"run", "--rm"}, tc.args...), "busybox", "true")...)
		if r.Code != 125 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: want 125 and %q: %s", tc.args, tc.want, r)
		}
	}
}

func addrOf(ipOutput string) string {
	f := strings.Fields(ipOutput)
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}
