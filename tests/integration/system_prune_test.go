package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
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

// TestLastContainerReleasesHostState: the default bridge, the nftables
// table and the parent cgroup stay while a container of the installation
// exists (a stopped one too) and go with the last one, whether it ends by
// run --rm or by rm.
func TestLastContainerReleasesHostState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sum := sha256.Sum256([]byte(filepath.Clean(e.Root)))
	table := "inet cocin-" + hex.EncodeToString(sum[:])[:6]
	var bridge string
	left := func() []string {
		var out []string
		if bridge != "" && slices.Contains(cocinLinks(), bridge) {
			out = append(out, "link "+bridge)
		}
		if tables, _ := cocinNftTables(); slices.Contains(tables, table) {
			out = append(out, "table "+table)
		}
		for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
			if _, err := os.Stat(filepath.Join(root, e.CgroupParent, "cgroup.procs")); err == nil {
				out = append(out, "cgroup "+filepath.Join(root, e.CgroupParent))
				break
			}
		}
		return out
	}
	id := strings.TrimSpace(e.mustRun(t, "run", "-d", "busybox", "sleep", "60").Stdout)
	var nets []struct{ Bridge string }
	if err := json.Unmarshal([]byte(e.mustRun(t, "network", "inspect", "bridge").Stdout), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("network inspect bridge: %v", err)
	}
	bridge = nets[0].Bridge
	e.mustRun(t, "stop", "-t", "0", id)
	if got := left(); len(got) != 3 {
		t.Errorf("with a stopped container left, want bridge, table and parent cgroup kept, got %v", got)
	}
	e.mustRun(t, "rm", id)
	if got := left(); len(got) != 0 {
		t.Errorf("rm of the last container left %v on the host", got)
	}
	e.mustRun(t, "run", "--rm", "busybox", "true")
	if got := left(); len(got) != 0 {
		t.Errorf("run --rm of the only container left %v on the host", got)
	}
}
