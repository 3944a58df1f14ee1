package integration

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Every installation the suite used, so that teardown can remove the
// containers tests left (stopped ones a test kept on purpose, or failed
// half-way). cocin itself must then remove what it shares with the host
// (bridge, nftables table, parent cgroup) with the last one: the leak
// check counts whatever is left.
var (
	envsMu sync.Mutex
	envs   []*engineEnv
)

func registerEnv(e *engineEnv) {
	envsMu.Lock()
	envs = append(envs, e)
	envsMu.Unlock()
}

// removeLeftContainers runs `cocin rm -f` on every container left in every
// installation used.
func removeLeftContainers() {
	envsMu.Lock()
	defer envsMu.Unlock()
	for _, e := range envs {
		if _, err := os.Stat(e.Root); err != nil {
			continue
		}
		ids := strings.Fields(e.exec(nil, "", time.Minute, "ps", "-aq", "--no-trunc").Stdout)
		if len(ids) == 0 {
			continue
		}
		if r := e.exec(nil, "", time.Minute, append([]string{"rm", "-f"}, ids...)...); r.Code != 0 {
			fmt.Fprintf(os.Stderr, "integration: rm -f in %s: %s", e.Root, r)
		}
	}
}
