package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var imageIDRe = regexp.MustCompile(`^sha256:([0-9a-f]{64})$`)

// imagesRow finds "REPO TAG ID ..." in "cocin images" output and returns the ID column.
func imagesRow(out, repo, tag string) (string, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(repo) + `\s+` + regexp.QuoteMeta(tag) + `\s+(\S+)\s+`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func TestImages(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "images")
	header := lines(r.Stdout)
	if len(header) == 0 {
		t.Fatalf("no output: %s", r)
	}
	for _, col := range []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"} {
		if !strings.Contains(header[0], col) {
			t.Errorf("header lacks %s: %q", col, header[0])
		}
	}
	id, ok := imagesRow(r.Stdout, "busybox", "latest")
	if !ok {
		t.Fatalf("busybox latest not listed: %s", r)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("IMAGE ID %q: want 12 hex digits", id)
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	e := newBareEnv(t)
	r := e.mustRun(t, "import", busyboxTar, "busybox")
	m := imageIDRe.FindStringSubmatch(strings.TrimSpace(r.Stdout))
	if m == nil {
		t.Fatalf("import should print the image ID sha256:<64 hex>: %s", r)
	}
	r = e.mustRun(t, "images")
	if id, _ := imagesRow(r.Stdout, "busybox", "latest"); id != m[1][:12] {
		t.Errorf("images shows %q for busybox:latest, import printed %s: %s", id, m[0], r)
	}

	// From stdin, with a tag.
	data, err := os.ReadFile(busyboxTar)
	if err != nil {
		t.Fatal(err)
	}
	r = e.exec(t, string(data), defaultTimeout, "import", "-", "fromstdin:v1")
	expectCode(t, r, 0)
	if !imageIDRe.MatchString(strings.TrimSpace(r.Stdout)) {
		t.Errorf("import -: want the image ID: %s", r)
	}
	r = e.mustRun(t, "images")
	if _, ok := imagesRow(r.Stdout, "fromstdin", "v1"); !ok {
		t.Errorf("fromstdin:v1 not listed: %s", r)
	}
	r = e.mustRun(t, "run", "--rm", "fromstdin:v1", "echo", "ok")
	if r.Stdout != "ok\n" {
		t.Errorf("run fromstdin:v1: %s", r)
	}

	r = e.run(t, "import", filepath.Join(t.TempDir(), "missing.tar"), "x")
	expectCommandError(t, r)
	r = e.exec(t, "this is not a tarball", defaultTimeout, "import", "-", "garbage")
	if r.Code == 0 {
		t.Errorf("import of garbage succeeded: %s", r)
	}
}

func TestRmi(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "run", "--rm", "busybox", "true")
	e.mustRun(t, "rmi", "busybox")
	r := e.mustRun(t, "images")
	if _, ok := imagesRow(r.Stdout, "busybox", "latest"); ok {
		t.Errorf("busybox still listed after rmi: %s", r)
	}
	expectEngineError(t, e.run(t, "run", "--rm", "busybox", "true"))
	r = e.run(t, "rmi", "no-such-image")
	if r.Code == 0 || !strings.Contains(r.Stderr, "no-such-image") {
		t.Errorf("rmi of a missing image: want an error naming it: %s", r)
	}
}

// TestRmiForceInUse: as in Docker, rmi -f never deletes an image a
// container uses. By ID it is refused for a running container; by tag,
// or by ID for a stopped one, the tags go and the image stays, dangling,
// so the container still starts and exports.
func TestRmiForceInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := strings.TrimSpace(e.mustRun(t, "import", "-c", "ENV A=1", busyboxTar, "solo").Stdout)
	live, stopped := uniqueName("live"), uniqueName("stopped")
	e.mustRun(t, "run", "-d", "--network", "none", "--name", live, "solo", "sleep", "100")
	defer e.run(t, "rm", "-f", live)
	e.mustRun(t, "create", "--network", "none", "--name", stopped, "solo", "echo", "still-runs")
	defer e.run(t, "rm", "-f", stopped)

	r := e.run(t, "rmi", "-f", id)
	if r.Code == 0 || !strings.Contains(r.Stderr, "cannot be forced") || !strings.Contains(r.Stderr, "running container") {
		t.Errorf("rmi -f by ID of a running container's image: %s", r)
	}
	if r := e.mustRun(t, "rmi", "-f", "solo"); strings.TrimSpace(r.Stdout) != "Untagged: solo:latest" {
		t.Errorf("rmi -f by tag of a used image: %s, want it untagged only", r)
	}
	e.mustRun(t, "rm", "-f", live)
	expectCode(t, e.run(t, "rmi", id), 1) // a stopped container uses it
	if r := e.mustRun(t, "rmi", "-f", id); strings.Contains(r.Stdout, "Deleted") {
		t.Errorf("rmi -f deleted the image of a stopped container: %s", r)
	}
	if r := e.mustRun(t, "images", "-q", "--no-trunc", "--filter", "dangling=true"); strings.TrimSpace(r.Stdout) != id {
		t.Errorf("dangling images %q, want %s", r.Stdout, id)
	}
	if r := e.mustRun(t, "start", "-a", stopped); strings.TrimSpace(r.Stdout) != "still-runs" {
		t.Errorf("start of the container after rmi -f: %s", r)
	}
	e.mustRun(t, "export", "-o", filepath.Join(t.TempDir(), "fs.tar"), stopped)
	e.mustRun(t, "rm", stopped)
	if r := e.mustRun(t, "image", "prune"); !strings.Contains(r.Stdout, id) {
		t.Errorf("image prune once the container is gone: %s", r.Stdout)
	}
}

// TestImageDockerCompat: import -m sets the history comment, history
// takes --format, and image inspect of a missing image prints [] and
// fails, as docker does.
func TestImageDockerCompat(t *testing.T) {
	t.Parallel()
	e := newBareEnv(t)
	e.mustRun(t, "import", "-m", "my message", busyboxTar, "msg:1")
	r := e.mustRun(t, "history", "--format", `{{.Comment}}\t{{.CreatedBy}}`, "msg:1")
	if strings.TrimSpace(r.Stdout) != "my message\timport" {
		t.Errorf("history --format after import -m: %q", r.Stdout)
	}
	r = e.run(t, "image", "inspect", "nosuch")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "[]" || !strings.Contains(r.Stderr, "nosuch") {
		t.Errorf("image inspect of a missing image: %s, want [] on stdout, the error, exit 1", r)
	}
	r = e.run(t, "image", "inspect", "--format", "{{.Comment}}", "msg:1", "nosuch")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "my message" {
		t.Errorf("image inspect of a found and a missing image: %s", r)
	}
}

func TestVersionInfo(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "version")
	if strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("version printed nothing: %s", r)
	}
	r = mustRun(t, "info")
	if !strings.Contains(r.Stdout, defaultEnv.Root) {
		t.Errorf("info should show the root directory %s: %s", defaultEnv.Root, r)
	}
}

func TestTrace(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "--trace", "run", "--rm", "busybox", "true")
	if r.Stdout != "" {
		t.Errorf("--trace must not write to stdout: %s", r)
	}
	if !strings.Contains(r.Stderr, "pivot_root") {
		t.Errorf("the trace lacks a pivot_root step: %s", r)
	}
	if !regexp.MustCompile(`\d+(\.\d+)?\s*(s|ms|µs|us|ns)\b`).MatchString(r.Stderr) {
		t.Errorf("the trace shows no durations: %s", r)
	}
	if !strings.ContainsAny(r.Stderr, "├└") {
		t.Errorf("the trace is not a tree: %s", r)
	}
}

// ---------------------------------------------------------------------------
// Nothing left behind

// inventory is what one private installation has on disk and on the host.
type inventory struct {
	Files   []string // everything below Root and RunRoot
	Mounts  []string // mount points below the installation's directory
	Cgroups []string // cgroups below its parent (the parent itself excluded)
}

func (e *engineEnv) inventory(t *testing.T) inventory {
	t.Helper()
	var inv inventory
	for _, dir := range []string{e.Root, e.RunRoot} {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && p != dir {
				inv.Files = append(inv.Files, p)
			}
			return nil
		})
	}
	base := filepath.Dir(e.Root)
	for _, mp := range mountPoints() {
		if isUnder(mp, base) {
			inv.Mounts = append(inv.Mounts, mp)
		}
	}
	for _, c := range testCgroups() {
		if strings.Contains(c, e.CgroupParent+"/") {
			inv.Cgroups = append(inv.Cgroups, c)
		}
	}
	return inv
}

func (e *engineEnv) containerRecords(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.Root, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		if en.IsDir() {
			names = append(names, en.Name())
		}
	}
	return names
}

func TestNothingLeftBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A first run creates whatever the engine keeps for good (locks, the parent cgroup).
	e.mustRun(t, "run", "--rm", "busybox", "true")
	time.Sleep(100 * time.Millisecond)
	before := e.inventory(t)
	records := e.containerRecords(t)

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"run", "no-such-image", "true"}, 125},
		{[]string{"run", "-e", "=x", "busybox", "true"}, 125},
		{[]string{"run", "--no-such-flag", "busybox", "true"}, 125},
		{[]string{"run", "--env-file", "/nonexistent/env", "busybox", "true"}, 125},
		{[]string{"run", "-w", "relative", "busybox", "true"}, 125},
		{[]string{"run", "-u", "no-such-user", "busybox", "true"}, 125},
		{[]string{"run", "--rm", "-u", "no-such-user", "busybox", "true"}, 125},
		{[]string{"run", "--rm", "busybox", "/etc/passwd"}, 126},
		{[]string{"run", "--rm", "busybox", "nonexistent-cmd"}, 127},
		{[]string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3},
		{[]string{"run", "--rm", "--name", uniqueName("gone"), "busybox", "true"}, 0},
	} {
		r := e.run(t, tc.args...)
		expectCode(t, r, tc.code)
	}
	time.Sleep(100 * time.Millisecond)
	after := e.inventory(t)
	if got := e.containerRecords(t); !slices.Equal(got, records) {
		t.Errorf("container records: before %v, after %v", records, got)
	}
	for _, d := range []struct {
		what          string
		before, after []string
	}{
		{"file", before.Files, after.Files},
		{"mount", before.Mounts, after.Mounts},
		{"cgroup", before.Cgroups, after.Cgroups},
	} {
		for _, p := range subtract(d.after, d.before) {
			t.Errorf("left behind: %s %s", d.what, p)
		}
	}

	// A run without --rm keeps exactly one record.
	e.mustRun(t, "run", "busybox", "true")
	if got := e.containerRecords(t); len(got) != len(records)+1 {
		t.Errorf("run without --rm: want %d records, got %v", len(records)+1, got)
	}
}
