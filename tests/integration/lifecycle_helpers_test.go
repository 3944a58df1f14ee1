package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// detached runs "run -d ARGS..." in e, checks that it printed a 64-hex ID
// and removes the container when the test ends.
func (e *engineEnv) detached(t *testing.T, args ...string) string {
	t.Helper()
	r := e.mustRun(t, append([]string{"run", "-d"}, args...)...)
	id := strings.TrimSpace(r.Stdout)
	if !hexID.MatchString(id) {
		t.Fatalf("run -d did not print a 64-hex ID: %s", r)
	}
	e.removeAtEnd(t, id)
	return id
}

// removeAtEnd force-removes ref when the test ends (it may be gone already).
func (e *engineEnv) removeAtEnd(t *testing.T, ref string) {
	t.Cleanup(func() { e.exec(t, "", defaultTimeout, "rm", "-f", ref) })
}

// field runs inspect --format TMPL on ref.
func (e *engineEnv) field(t *testing.T, ref, tmpl string) string {
	t.Helper()
	return strings.TrimSpace(e.mustRun(t, "inspect", "--format", tmpl, ref).Stdout)
}

// psStatus is the STATUS column `ps -a` shows for the container (a name
// or an ID).
func (e *engineEnv) psStatus(t *testing.T, ref string) string {
	t.Helper()
	id := ref
	if !hexID.MatchString(ref) {
		id = e.field(t, ref, "{{.Id}}")
	}
	return strings.TrimSpace(e.mustRun(t, "ps", "-a", "--filter", "id="+id, "--format", "{{.Status}}").Stdout)
}

// record reads the container's record straight from disk.
func (e *engineEnv) record(t *testing.T, id string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.Root, "containers", id, "container.json"))
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("record of %s is not JSON: %v\n%s", id, err, b)
	}
	return m
}

// monitorPid is the PID of the container's monitor, from its record.
func (e *engineEnv) monitorPid(t *testing.T, id string) int {
	t.Helper()
	v, _ := e.record(t, id)["MonitorPid"].(float64)
	return int(v)
}

// waitUntil polls cond every 50 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid exists (and is not a zombie).
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// readProc reads /proc/PID/FILE, trimmed.
func readProc(t *testing.T, pid int, file string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		t.Fatalf("read /proc/%d/%s: %v", pid, file, err)
	}
	return strings.TrimSpace(string(b))
}

// procPPid is the parent of pid.
func procPPid(t *testing.T, pid int) int {
	t.Helper()
	s := readProc(t, pid, "stat")
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return atoiT(t, f[1])
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// expectFailure checks a failed multi-container command: exit 1 (Docker's
// code for those) and "cocin: ...why..." on stderr.
func expectFailure(t *testing.T, r result, why string) {
	t.Helper()
	if r.Code != 1 || !strings.Contains(r.Stderr, "cocin: ") || !strings.Contains(r.Stderr, why) {
		t.Errorf("want exit 1 and \"cocin: ...%s\": %s", why, r)
	}
}
