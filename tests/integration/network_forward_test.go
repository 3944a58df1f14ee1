package integration

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// freePort returns a TCP port nothing on the host listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpdAt runs a container serving "hello" on port 80 (and 8080) with args.
func httpdAt(t *testing.T, args ...string) string {
	t.Helper()
	cmd := "echo hello > /tmp/i && httpd -p 8080 -h /tmp && httpd -f -p 80 -h /tmp"
	return detached(t, append(args, "busybox", "sh", "-c", cmd)...)
}

// TestNetworkPublishedPortFromOtherNetwork: a published port is reachable
// through the host's address from a container on another network.
func TestNetworkPublishedPortFromOtherNetwork(t *testing.T) {
	nw := newNetwork(t)
	port := freePort(t)
	httpdAt(t, "--network", nw, "-p", fmt.Sprintf("%d:80", port))
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/i", port))
	// The host's address on the default bridge is the client's gateway.
	// (A last command keeps sh as PID 1: wget as PID 1 ignores timeout's
	// SIGTERM.)
	r := mustRun(t, "run", "--rm", "busybox", "sh", "-c", fmt.Sprintf(
		"gw=$(ip route | awk '/^default/ {print $3}'); timeout 5 wget -qO- http://$gw:%d/i; exit $?", port))
	if r.Stdout != "hello\n" {
		t.Fatalf("from the default bridge: %s", r)
	}
}

// TestNetworkHairpinOwnPublishedPort: a container reaches its own
// published port through its gateway (the host).
func TestNetworkHairpinOwnPublishedPort(t *testing.T) {
	port := freePort(t)
	c := httpdAt(t, "-p", fmt.Sprintf("%d:80", port))
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/i", port))
	_, gw, _ := netInspect(t, "bridge")
	// (timeout, not wget -T: busybox-static's wget crashes with -T.)
	r := mustRun(t, "exec", c, "timeout", "5", "wget", "-qO-", fmt.Sprintf("http://%s:%d/i", gw, port))
	if r.Stdout != "hello\n" {
		t.Fatalf("own published port through the gateway: %s", r)
	}
}

// TestNetworkNoUnsolicitedInbound: a host in a namespace this test makes,
// routed to a container's subnet through this host, reaches the
// container's published port but none of its other ports.
func TestNetworkNoUnsolicitedInbound(t *testing.T) {
	nw := newNetwork(t)
	subnet, _, _ := netInspect(t, nw)
	port := freePort(t)
	c := httpdAt(t, "--network", nw, "-p", fmt.Sprintf("%d:80", port))
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/i", port))
	_, _, addrs := netInspect(t, nw)
	ns := outsideHost(t, "203.0.113.1", "203.0.113.2")
	ipCmd(t, "-n", ns, "route", "add", subnet, "via", "203.0.113.1")
	if err := dialIn(t, ns, fmt.Sprintf("203.0.113.1:%d", port)); err != nil {
		t.Fatalf("published port not reachable from outside: %v", err)
	}
	if err := dialIn(t, ns, addrs[c]+":8080"); err == nil {
		t.Fatalf("unpublished port %s:8080 reachable from outside", addrs[c])
	}
	// Networks stay isolated: another network reaches the published port
	// only, not the container's address.
	r := cocin(t, "run", "--rm", "busybox", "sh", "-c", "nc -w 2 "+addrs[c]+" 8080 </dev/null; exit $?")
	if r.Code == 0 {
		t.Fatalf("container on another network reached %s:8080: %s", addrs[c], r)
	}
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

// outsideHost makes a namespace linked to the host by a veth (hostAddr on
// the host's end, nsAddr on eth9 in it), removed at the end; it returns
// the namespace's name.
func outsideHost(t *testing.T, hostAddr, nsAddr string) string {
	ns, vh := "cnt-"+randomHex(3), "cnt"+randomHex(3)
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "link", "add", vh, "type", "veth", "peer", "name", "eth9", "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", vh).Run() })
	ipCmd(t, "addr", "add", hostAddr+"/24", "dev", vh)
	ipCmd(t, "link", "set", vh, "up")
	ipCmd(t, "-n", ns, "addr", "add", nsAddr+"/24", "dev", "eth9")
	ipCmd(t, "-n", ns, "link", "set", "eth9", "up")
	return ns
}

// dialIn opens a TCP connection to addr from namespace ns. The thread
// goes back to its own namespace before it is unlocked; if it cannot, it
// stays locked and ends with its goroutine (the main thread, which Go
// never ends, must not be left in ns: /proc/self/ns/net would show it).
func dialIn(t *testing.T, ns, addr string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err == nil {
			defer h.Close()
			err = netns.Set(h)
		}
		if err != nil {
			done <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	err := <-done
	if err != nil && strings.HasPrefix(err.Error(), "enter ") {
		t.Fatal(err)
	}
	return err
}
