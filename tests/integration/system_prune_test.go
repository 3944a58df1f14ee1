package integration

import (
	"strings"
	"testing"
)

// TestSystemPruneNetworksAndVolumes: system prune removes user networks
// no container uses, and with --volumes the anonymous volumes of removed
// containers; a named volume and the default network stay.
func TestSystemPruneNetworksAndVolumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	net := uniqueName("prunenet")
	e.mustRun(t, "network", "create", net)
	e.mustRun(t, "volume", "create", "keepme")
	e.mustRun(t, "run", "-v", "/data", "busybox", "true")
	anon := ""
	for _, l := range lines(e.mustRun(t, "volume", "ls", "-q").Stdout) {
		if l != "keepme" {
			anon = l
		}
	}
	if anon == "" {
		t.Fatal("the anonymous volume of -v /data is missing")
	}
	out := e.mustRun(t, "system", "prune", "-f", "--volumes").Stdout
	if !strings.Contains(out, "Deleted Networks:\n"+net) || !strings.Contains(out, "Deleted Volumes:\n"+anon) {
		t.Errorf("prune output: %q", out)
	}
	vols := e.mustRun(t, "volume", "ls", "-q").Stdout
	if strings.Contains(vols, anon) || !strings.Contains(vols, "keepme") {
		t.Errorf("volumes after prune: %q", vols)
	}
	nets := e.mustRun(t, "network", "ls").Stdout
	if strings.Contains(nets, net) || !strings.Contains(nets, "bridge") {
		t.Errorf("networks after prune: %q", nets)
	}
	e.mustRun(t, "volume", "rm", "keepme")
}
