package integration

import (
	"os/exec"
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

// TestNetworkRestartWhileOldNamespaceHeld: a process still in a stopped
// container's network namespace keeps its old veth alive; start replaces
// that leftover of ours instead of failing on its name.
func TestNetworkRestartWhileOldNamespaceHeld(t *testing.T) {
	nw := newNetwork(t)
	c := detached(t, "--network", nw, "busybox", "sleep", "60")
	_, _, before := netInspect(t, nw)
	pid := strings.TrimSpace(mustRun(t, "inspect", "--format", "{{.State.Pid}}", c).Stdout)
	holder := exec.Command("nsenter", "-t", pid, "-n", "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	mustRun(t, "stop", "-t", "0", c)
	mustRun(t, "start", c)
	r := mustRun(t, "exec", c, "ip", "-4", "-o", "addr", "show", "eth0")
	// The old veth's lease went with it: the first free address is the
	// same one again.
	if !strings.Contains(r.Stdout, "inet "+before[c]+"/") {
		t.Fatalf("restarted container does not have its old address %s: %s", before[c], r)
	}
}

// TestNetworkOwnNameResolves: on a user-defined network a container finds
// itself by name and alias, as its peers do.
func TestNetworkOwnNameResolves(t *testing.T) {
	nw := newNetwork(t)
	c := detached(t, "--network", nw, "--network-alias", "self-alias", "busybox", "sleep", "60")
	r := mustRun(t, "exec", c, "sh", "-c", "ping -c1 -W2 "+c+" && ping -c1 -W2 self-alias")
	if strings.Count(r.Stdout, "1 packets received") != 2 {
		t.Fatalf("own name or alias does not resolve:\n%s", r)
	}
}
