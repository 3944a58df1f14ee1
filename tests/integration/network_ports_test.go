package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestNetworkSameHostPortTwiceRefused: one container cannot publish one
// host port twice, also not on 0.0.0.0 and a specific address.
func TestNetworkSameHostPortTwiceRefused(t *testing.T) {
	port := freePort(t)
	for _, second := range []string{"%d:81", "127.0.0.1:%d:81"} {
		r := cocin(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", port), "-p", fmt.Sprintf(second, port), "busybox", "true")
		expectEngineError(t, r)
		if !strings.Contains(r.Stderr, "port is already allocated") {
			t.Errorf("refusal does not say why: %s", r)
		}
	}
	// Different protocols do not clash.
	mustRun(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", port), "-p", fmt.Sprintf("%d:80/udp", port), "busybox", "true")
}
