package integration

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Every installation the suite used, so that teardown can ask cocin itself
// to remove what it keeps between containers (the default network's
// bridge, the nftables table), as an administrator would.
var (
	envsMu sync.Mutex
	envs   []*engineEnv
)

func registerEnv(e *engineEnv) {
	envsMu.Lock()
	envs = append(envs, e)
	envsMu.Unlock()
}

// pruneEnvs runs `cocin system prune -f` in every installation used; what
// it leaves is then reported by the leak check like anything else.
func pruneEnvs() {
	envsMu.Lock()
	defer envsMu.Unlock()
	for _, e := range envs {
		if _, err := os.Stat(e.Root); err != nil {
			continue
		}
		if r := e.exec(nil, "", time.Minute, "system", "prune", "-f"); r.Code != 0 {
			fmt.Fprintf(os.Stderr, "integration: system prune of %s: %s", e.Root, r)
		}
	}
}
