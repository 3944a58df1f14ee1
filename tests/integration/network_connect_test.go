package integration

import (
	"strings"
	"testing"
)

// TestNetworkReconnectKeepsOtherNetwork: a network connected again after
// being disconnected takes the free interface index, not one the
// container's other network still uses, and the default route follows
// the networks that remain.
func TestNetworkReconnectKeepsOtherNetwork(t *testing.T) {
	app, other := newNetwork(t), newNetwork(t)
	_, otherGW, _ := netInspect(t, other)
	peerApp := detached(t, "--network", app, "busybox", "sleep", "60")
	peerOther := detached(t, "--network", other, "busybox", "sleep", "60")
	web := detached(t, "--network", app, "busybox", "sleep", "60")
	mustRun(t, "network", "connect", other, web)
	mustRun(t, "network", "disconnect", app, web)
	r := mustRun(t, "exec", web, "ip", "route")
	if !strings.Contains(r.Stdout, "default via "+otherGW+" ") {
		t.Fatalf("no default route through %s after its first network left:\n%s", other, r)
	}
	mustRun(t, "network", "connect", app, web)
	r = mustRun(t, "exec", web, "sh", "-c",
		"ping -c1 -W2 "+peerApp+" && ping -c1 -W2 "+peerOther+" && ls /sys/class/net")
	for _, want := range []string{"eth0", "eth1"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("%s missing after reconnect:\n%s", want, r)
		}
	}
	if strings.Count(r.Stdout, "1 packets received") != 2 {
		t.Fatalf("peers on both networks not reachable:\n%s", r)
	}
}
