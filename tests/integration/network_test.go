package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// netInspect returns a network's subnet, gateway and container addresses.
func netInspect(t *testing.T, name string) (subnet, gateway string, addrs map[string]string) {
	t.Helper()
	r := mustRun(t, "network", "inspect", name)
	var v []struct {
		Subnet, Gateway string
		Containers      map[string]struct{ Name, IPv4Address string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("network inspect %s: %v\n%s", name, err, r)
	}
	addrs = map[string]string{}
	for _, c := range v[0].Containers {
		addrs[c.Name] = strings.Split(c.IPv4Address, "/")[0]
	}
	return v[0].Subnet, v[0].Gateway, addrs
}

func newNetwork(t *testing.T, args ...string) string {
	t.Helper()
	name := uniqueName("net")
	mustRun(t, append(append([]string{"network", "create"}, args...), name)...)
	t.Cleanup(func() { cocin(t, "network", "rm", name) })
	return name
}

func detached(t *testing.T, args ...string) string {
	t.Helper()
	name := uniqueName("c")
	mustRun(t, append([]string{"run", "-d", "--name", name}, args...)...)
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	return name
}

func TestNetworkDefaultBridgeAddress(t *testing.T) {
	r := mustRun(t, "run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
	subnet, _, _ := netInspect(t, "bridge")
	_, ipnet, _ := net.ParseCIDR(subnet)
	f := strings.Fields(r.Stdout)
	if len(f) < 4 {
		t.Fatalf("no eth0 address: %s", r)
	}
	ip, _, err := net.ParseCIDR(f[3])
	if err != nil || !ipnet.Contains(ip) {
		t.Fatalf("eth0 address %q not in %s", f[3], subnet)
	}
}

func TestNetworkNoneOnlyLoopback(t *testing.T) {
	r := mustRun(t, "run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
	if strings.TrimSpace(r.Stdout) != "lo" {
		t.Fatalf("--network none has links %q, want only lo", r.Stdout)
	}
	// As with Docker, lo is up: a server on 127.0.0.1 answers.
	r = mustRun(t, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
		`printf 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n' | nc -l -p 8080 >/dev/null & sleep 0.3; wget -qO- http://127.0.0.1:8080/`)
	if r.Stdout != "ok\n" {
		t.Fatalf("127.0.0.1 inside --network none: %s", r)
	}
	mustRun(t, "run", "--rm", "--network", "none", "busybox", "test", "-f", "/etc/resolv.conf")
}

// --network host: the host's network namespace and, as with Docker, its
// host name.
func TestNetworkHost(t *testing.T) {
	host, _ := os.Hostname()
	hostNS, _ := os.Readlink("/proc/thread-self/ns/net")
	r := mustRun(t, "run", "--rm", "--network", "host", "busybox", "sh", "-c", "hostname; readlink /proc/self/ns/net")
	if want := host + "\n" + hostNS + "\n"; r.Stdout != want {
		t.Fatalf("--network host: got %q, want %q", r.Stdout, want)
	}
}

func TestNetworkBadInputs(t *testing.T) {
	for _, args := range [][]string{
		{"--network", "no-such-net-" + randomHex(3)},
		{"--network", "container:x"},
		{"-p", "70000:80"},
		{"--network", "none", "-p", "8080:80"},
		{"--ip", "10.1.2.3"},
		{"--add-host", "bad"},
		{"--dns", "not-an-ip"},
	} {
		r := cocin(t, append(append([]string{"run", "--rm"}, args...), "busybox", "true")...)
		expectEngineError(t, r)
	}
	expectCommandError(t, cocin(t, "network", "create", "--subnet", "10.0.0.1/8", uniqueName("bad")))
}

func TestNetworkUserDefinedNamesAndAliases(t *testing.T) {
	nw := newNetwork(t)
	a := detached(t, "--network", nw, "--network-alias", "db", "busybox", "sleep", "60")
	r := mustRun(t, "run", "--rm", "--network", nw, "busybox", "sh", "-c",
		fmt.Sprintf("ping -c1 -W2 %s && ping -c1 -W2 db", a))
	if !strings.Contains(r.Stdout, "1 packets received") {
		t.Fatalf("ping by name and alias: %s", r)
	}
	// The default bridge has no names; another network cannot be reached.
	other := newNetwork(t)
	r = cocin(t, "run", "--rm", "--network", other, "busybox", "ping", "-c1", "-W1", a)
	if r.Code == 0 {
		t.Fatalf("name resolved across networks: %s", r)
	}
}

func TestNetworkPublishedHTTPD(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	// A taken host port is refused.
	r := cocin(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", port), "busybox", "true")
	expectEngineError(t, r)
	if !strings.Contains(r.Stderr, "taken") {
		t.Errorf("refusal does not say why: %s", r)
	}
	l.Close()
	c := detached(t, "-p", fmt.Sprintf("%d:80", port), "busybox", "sh", "-c", "echo hello-httpd > /tmp/i && httpd -f -p 80 -h /tmp")
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/i", port))
	if body != "hello-httpd\n" {
		t.Fatalf("127.0.0.1:%d answered %q", port, body)
	}
	if out := mustRun(t, "port", c).Stdout; !strings.Contains(out, fmt.Sprintf("80/tcp -> 0.0.0.0:%d", port)) {
		t.Errorf("port says %q", out)
	}
	want := fmt.Sprintf("bridge 0.0.0.0:%d->80/tcp\n", port)
	if out := mustRun(t, "ps", "--filter", "name="+c, "--format", "{{.Networks}} {{.Ports}}").Stdout; out != want {
		t.Errorf("ps --format '{{.Networks}} {{.Ports}}' says %q, want %q", out, want)
	}
	want = fmt.Sprintf(`{"80/tcp":[{"HostIp":"","HostPort":"%d"}]}`, port)
	if out := strings.TrimSpace(mustRun(t, "inspect", "-f", "{{json .HostConfig.PortBindings}}", c).Stdout); out != want {
		t.Errorf("inspect HostConfig.PortBindings %s, want %s", out, want)
	}
	// From another container, through the host's address on its bridge.
	_, gw, _ := netInspect(t, "bridge")
	r = mustRun(t, "run", "--rm", "busybox", "wget", "-qO-", fmt.Sprintf("http://%s:%d/i", gw, port))
	if r.Stdout != "hello-httpd\n" {
		t.Fatalf("from a container: %s", r)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var lastErr error
	for i := 0; i < 50; i++ {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

// TestNetworkOutboundNAT pings a host in a namespace this test makes,
// which has no route back to the container's subnet: only a masqueraded
// packet gets an answer.
func TestNetworkOutboundNAT(t *testing.T) {
	ns, vh := "cnt-"+randomHex(3), "cnt"+randomHex(3)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	sh("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sh("link", "add", vh, "type", "veth", "peer", "name", "eth9", "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", vh).Run() })
	sh("addr", "add", "198.51.100.1/24", "dev", vh)
	sh("link", "set", vh, "up")
	sh("-n", ns, "addr", "add", "198.51.100.2/24", "dev", "eth9")
	sh("-n", ns, "link", "set", "eth9", "up")
	r := mustRun(t, "run", "--rm", "busybox", "ping", "-c1", "-W3", "198.51.100.2")
	if !strings.Contains(r.Stdout, "1 packets received") {
		t.Fatalf("no answer through NAT: %s", r)
	}
	nw := newNetwork(t, "--internal")
	if r := cocin(t, "run", "--rm", "--network", nw, "busybox", "ping", "-c1", "-W1", "198.51.100.2"); r.Code == 0 {
		t.Fatalf("an internal network reached outside: %s", r)
	}
}

func TestNetworkParallelRunsDistinctAddresses(t *testing.T) {
	nw := newNetwork(t, "--subnet", "10.231.0.0/27")
	var wg sync.WaitGroup
	names := make([]string, 20)
	for i := range names {
		names[i] = uniqueName("par")
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			r := cocin(t, "run", "-d", "--name", n, "--network", nw, "busybox", "sleep", "60")
			if r.Code != 0 {
				t.Errorf("parallel run: %s", r)
			}
		}(names[i])
	}
	wg.Wait()
	defer cocin(t, append([]string{"rm", "-f"}, names...)...)
	_, _, addrs := netInspect(t, nw)
	seen := map[string]string{}
	for n, ip := range addrs {
		if o, dup := seen[ip]; dup {
			t.Errorf("%s given to %s and %s", ip, o, n)
		}
		seen[ip] = n
	}
	if len(addrs) != 20 {
		t.Fatalf("%d containers on the network, want 20", len(addrs))
	}
	// A /27 has 29 addresses for containers: the 30th is refused.
	more := make([]string, 9)
	for i := range more {
		more[i] = uniqueName("fill")
		mustRun(t, "run", "-d", "--name", more[i], "--network", nw, "busybox", "sleep", "60")
	}
	defer cocin(t, append([]string{"rm", "-f"}, more...)...)
	r := cocin(t, "run", "--rm", "--network", nw, "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, "no available IP") {
		t.Fatalf("exhausted pool: %s", r)
	}
}

// TestNetworkReleaseAndRepair: addresses come back on stop and rm, and a
// container whose monitor was killed is cleaned by the next command.
func TestNetworkReleaseAndRepair(t *testing.T) {
	nw := newNetwork(t, "--subnet", "10.232.0.0/29")
	c := detached(t, "--network", nw, "--ip", "10.232.0.5", "busybox", "sleep", "60")
	mustRun(t, "stop", "-t", "0", c)
	if _, _, addrs := netInspect(t, nw); len(addrs) != 0 {
		t.Fatalf("stopped container still holds %v", addrs)
	}
	mustRun(t, "start", c)
	id := strings.TrimSpace(mustRun(t, "inspect", "--format", "{{.Id}}", c).Stdout)
	b, err := os.ReadFile(filepath.Join(defaultEnv.Root, "containers", id, "container.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		MonitorPid int
		State      struct{ Pid int }
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.MonitorPid == 0 {
		t.Fatalf("record: %v %s", err, b)
	}
	// The monitor dies first (a crash), then its container.
	_ = syscall.Kill(rec.MonitorPid, syscall.SIGKILL)
	_ = syscall.Kill(rec.State.Pid, syscall.SIGKILL)
	time.Sleep(300 * time.Millisecond)
	mustRun(t, "ps", "-a")
	if _, _, addrs := netInspect(t, nw); len(addrs) != 0 {
		t.Fatalf("crashed container still holds %v", addrs)
	}
	r := mustRun(t, "run", "--rm", "--network", nw, "--ip", "10.232.0.5", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
	if !strings.Contains(r.Stdout, "10.232.0.5/29") {
		t.Fatalf("released address not reusable: %s", r)
	}
}

func TestNetworkEtcFilesAndConnect(t *testing.T) {
	r := mustRun(t, "run", "--rm", "--hostname", "box1", "--add-host", "db.local:10.9.8.7",
		"--dns", "10.1.1.1", "--dns-search", "example.org", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
	for _, want := range []string{"10.9.8.7\tdb.local", "\tbox1\n", "nameserver 10.1.1.1", "search example.org"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.Stdout)
		}
	}
	a, b := newNetwork(t), newNetwork(t)
	c := detached(t, "--network", a, "busybox", "sleep", "60")
	mustRun(t, "network", "connect", "--alias", "late", b, c)
	r = mustRun(t, "run", "--rm", "--network", b, "busybox", "ping", "-c1", "-W2", "late")
	if !strings.Contains(r.Stdout, "1 packets received") {
		t.Fatalf("connected container not reachable: %s", r)
	}
	mustRun(t, "network", "disconnect", b, c)
	if _, _, addrs := netInspect(t, b); len(addrs) != 0 {
		t.Fatalf("disconnected container still on %s: %v", b, addrs)
	}
	if r := cocin(t, "network", "rm", a); r.Code == 0 || !strings.Contains(r.Stderr, "active endpoints") {
		t.Fatalf("network in use removed: %s", r)
	}
}
