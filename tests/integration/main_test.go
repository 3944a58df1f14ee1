// Package integration runs the cocin binary as a user would, as root, against
// private root and runroot directories, a cgroup parent of its own and a
// busybox image built from Debian's busybox-static.
//
// TestMain builds the binary once, imports the image, and snapshots the host
// (mounts, cgroups, network links, nftables tables, processes) before and
// after the suite: anything cocin left behind fails the run and is then
// removed, so the machine is left clean either way.
//
// Not root: everything is skipped. -short: everything is skipped.
// COCIN_IT_BINARY=/path tests that binary instead of building ./cmd/cocin.
package integration

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Suite-wide state, set up once by TestMain.
var (
	repoRoot     string // the repository (found from this file's path)
	tmpBase      string // everything the suite creates on disk lives under here
	cocinBin     string // the binary under test: $tmpBase/cocin
	busyboxTar   string // busybox rootfs tarball: $tmpBase/busybox.tar
	cgroupParent string // COCIN_CGROUP_PARENT for the suite: cocin-test-<random>
	defaultEnv   *engineEnv
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Println("integration: not root; skipping the integration tests (they run containers)")
		return 0
	}
	if testing.Short() {
		fmt.Println("integration: -short; skipping the integration tests")
		return 0
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		fmt.Fprintln(os.Stderr, "integration: cannot find the test file's path")
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))

	var err error
	tmpBase, err = os.MkdirTemp("", "cocin-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	cocinBin = filepath.Join(tmpBase, "cocin")
	busyboxTar = filepath.Join(tmpBase, "busybox.tar")
	cgroupParent = "cocin-test-" + randomHex(6)

	before := snapshotHost()
	code := setupAndRun(m)
	removeLeftContainers()
	after := snapshotHost()

	if leaks := after.newSince(before); !leaks.empty() {
		fmt.Fprintf(os.Stderr, "\nintegration: FAIL: the suite left %d thing(s) behind on the host:\n%s",
			leaks.count(), leaks.describe())
		// COCIN_IT_NO_CLEAN=1 when other suites run on the same host at the
		// same time: what is "new" may be theirs, so report it, touch nothing.
		if os.Getenv("COCIN_IT_NO_CLEAN") == "" {
			leaks.clean(os.Stderr)
		}
		code = 1
	} else {
		fmt.Println("integration: host snapshot after the suite matches the one before it (no leaks)")
	}
	if err := removeTmpBase(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: FAIL: cleaning", tmpBase+":", err)
		code = 1
	}
	return code
}

// setupAndRun builds the binary and the image, then runs the tests.
func setupAndRun(m *testing.M) int {
	start := time.Now()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	build := exec.Command(goBin, "build", "-o", cocinBin, "./cmd/cocin")
	build.Dir = repoRoot
	if bin := os.Getenv("COCIN_IT_BINARY"); bin != "" {
		build = exec.Command("cp", bin, cocinBin)
	}
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: FAIL: go build ./cmd/cocin: %v\n%s", err, out)
		return 1
	}
	mk := exec.Command("bash", filepath.Join(repoRoot, "scripts", "mk-busybox-rootfs.sh"), busyboxTar)
	if out, err := mk.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "integration: FAIL: scripts/mk-busybox-rootfs.sh: %v\n%s", err, out)
		return 1
	}
	defaultEnv = &engineEnv{
		Root:         filepath.Join(tmpBase, "root"),
		RunRoot:      filepath.Join(tmpBase, "run"),
		CgroupParent: cgroupParent,
	}
	registerEnv(defaultEnv)
	if r := defaultEnv.exec(nil, "", 2*time.Minute, "import", busyboxTar, "busybox"); r.Code != 0 {
		fmt.Fprintf(os.Stderr, "integration: FAIL: cocin import %s busybox: %s", busyboxTar, r)
		return 1
	}
	fmt.Printf("integration: binary %s, root %s, cgroup parent %s (setup %s)\n",
		cocinBin, defaultEnv.Root, cgroupParent, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// removeTmpBase unmounts whatever is still mounted below tmpBase (the leak
// check has reported it already) and removes the directory.
func removeTmpBase() error {
	for _, mp := range mountPoints() {
		if isUnder(mp, tmpBase) {
			_ = unmount(mp)
		}
	}
	return os.RemoveAll(tmpBase)
}

func isUnder(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}
