package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCommitRunShowsChanges: a container's added, changed and deleted
// files become one new layer; the new image runs with them and with the
// -c config changes, and its base layer is shared, not copied.
func TestCommitRunShowsChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := uniqueName("commit")
	e.mustRun(t, "run", "--name", c, "busybox", "sh", "-c", "echo hi > /hello; rm /bin/ls; rm -r /etc; mkdir /etc; echo n > /etc/new")
	e.mustRun(t, "commit", "-m", "my change", "-a", "me", "-c", `CMD ["cat","/hello"]`, "-c", "ENV FOO=bar", "-c", "WORKDIR /etc", c, "committed:1")
	defer e.run(t, "rm", c)

	if r := e.mustRun(t, "run", "--rm", "committed:1"); strings.TrimSpace(r.Stdout) != "hi" {
		t.Errorf("CMD of the committed image printed %q, want hi", r.Stdout)
	}
	r := e.mustRun(t, "run", "--rm", "committed:1", "sh", "-c", `test -e /bin/ls && echo ls-present; test -e /etc/passwd && echo passwd-present; cat /etc/new; echo $FOO; pwd`)
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "n bar /etc" {
		t.Errorf("committed image: got %q, want ls deleted, /etc opaque with only new, FOO=bar, workdir /etc", r.Stdout)
	}
	if r := e.mustRun(t, "run", "--rm", "busybox", "sh", "-c", "test -e /bin/ls && echo base-intact"); !strings.Contains(r.Stdout, "base-intact") {
		t.Errorf("the base image changed: %s", r)
	}
	// Two layers in the new image; the base's layer is on disk once.
	insp := e.mustRun(t, "image", "inspect", "--format", "{{len .RootFS.Layers}} {{.Comment}}", "committed:1")
	if strings.TrimSpace(insp.Stdout) != "2 my change" {
		t.Errorf("inspect: %q, want 2 layers and the comment", insp.Stdout)
	}
	layers, _ := filepath.Glob(filepath.Join(e.Root, "layers", "*", "layer.json"))
	if len(layers) != 2 {
		t.Errorf("%d unpacked layers, want 2 (base shared)", len(layers))
	}
	// The runtime's mount points for /etc/hosts and /etc/hostname are not
	// the container's changes.
	if leaked, _ := filepath.Glob(filepath.Join(e.Root, "layers", "*", "diff", "etc", "host*")); len(leaked) != 0 {
		t.Errorf("commit kept bind-mount placeholders: %v", leaked)
	}
	hist := e.mustRun(t, "history", "committed:1")
	if !strings.Contains(hist.Stdout, "my change") || len(lines(hist.Stdout)) != 3 {
		t.Errorf("history: %s", hist.Stdout)
	}
	// Once a container uses it, rmi refuses it without -f.
	user := uniqueName("user")
	e.mustRun(t, "create", "--name", user, "committed:1")
	expectCode(t, e.run(t, "rmi", "committed:1"), 1)
	e.mustRun(t, "rm", user)
	e.mustRun(t, "rmi", "committed:1")
	if layers, _ := filepath.Glob(filepath.Join(e.Root, "layers", "*", "layer.json")); len(layers) != 1 {
		t.Errorf("%d layers after rmi, want the base's only", len(layers))
	}
}

// TestCommitRecordsContainerConfig: commit records the container's
// run-time settings (env, entrypoint, cmd, workdir, anonymous volumes)
// as Docker does, with -c applied on top.
func TestCommitRecordsContainerConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := uniqueName("cfg")
	e.mustRun(t, "run", "-d", "--network", "none", "--name", c, "-e", "X=1", "-w", "/tmp", "-v", "/data",
		"--entrypoint", "/bin/sh", "busybox", "-c", "sleep 100")
	defer e.run(t, "rm", "-f", c)
	e.mustRun(t, "commit", c, "cfg:1")
	r := e.mustRun(t, "image", "inspect", "--format", "{{json .Config}}", "cfg:1")
	want := `{"Env":["X=1"],"Entrypoint":["/bin/sh"],"Cmd":["-c","sleep 100"],"Volumes":{"/data":{}},"WorkingDir":"/tmp"}`
	// Compared as JSON: the key order is the printer's business.
	var got, exp any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || json.Unmarshal([]byte(want), &exp) != nil || !reflect.DeepEqual(got, exp) {
		t.Errorf("committed config %s, want %s", r.Stdout, want)
	}
	e.mustRun(t, "commit", "-c", `CMD ["-c","echo $X; pwd"]`, c, "cfg:2")
	if r := e.mustRun(t, "run", "--rm", "--network", "none", "cfg:2"); strings.Join(strings.Fields(r.Stdout), " ") != "1 /tmp" {
		t.Errorf("run of the committed image printed %q, want 1 /tmp", r.Stdout)
	}
}

// TestSaveLoadRoundTrip: save of two images to one file, load into a
// fresh store from a file and from stdin, in both formats.
func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "tag", "busybox", "other/bb:2")
	for _, format := range []string{"docker-archive", "oci-archive"} {
		out := filepath.Join(t.TempDir(), "s.tar")
		e.mustRun(t, "save", "--format", format, "-o", out, "busybox", "other/bb:2")
		f := e.mustRun(t, "images", "-q", "--no-trunc", "busybox")
		fresh := newBareEnv(t)
		r := fresh.mustRun(t, "load", "-i", out)
		if !strings.Contains(r.Stdout, "Loaded image: busybox:latest") || !strings.Contains(r.Stdout, "Loaded image: other/bb:2") {
			t.Errorf("%s load: %s", format, r)
		}
		if g := fresh.mustRun(t, "images", "-q", "--no-trunc", "other/bb:2"); g.Stdout != f.Stdout {
			t.Errorf("%s: loaded ID %q, saved %q", format, g.Stdout, f.Stdout)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		viaStdin := newBareEnv(t)
		if r := viaStdin.exec(t, string(data), defaultTimeout, "load"); r.Code != 0 {
			t.Errorf("%s load from stdin: %s", format, r)
		}
		if r := viaStdin.mustRun(t, "run", "--rm", "other/bb:2", "echo", "ok"); strings.TrimSpace(r.Stdout) != "ok" {
			t.Errorf("run of a loaded image: %s", r)
		}
	}
}

// TestLoadRejectsGarbage: a file that is no image archive gives an
// engine error and leaves no image.
func TestLoadRejectsGarbage(t *testing.T) {
	t.Parallel()
	e := newBareEnv(t)
	expectCommandError(t, e.exec(t, "not a tarball", defaultTimeout, "load"))
	if r := e.mustRun(t, "images", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("images after a failed load: %q", r.Stdout)
	}
}

// podman runs podman on a private root; the test is skipped without it.
func podman(t *testing.T, dir string, args ...string) string {
	t.Helper()
	full := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "--storage-driver", "overlay"}, args...)
	out, err := exec.Command("podman", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestPodmanInterop: cocin save → podman load → run; podman save
// (docker-archive and oci-archive) → cocin load → run with the image's
// Env, Cmd and WorkingDir.
func TestPodmanInterop(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman not installed")
	}
	e := newEnv(t)
	pdir, err := os.MkdirTemp("", "cocin-it-podman-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		exec.Command("podman", "--root", filepath.Join(pdir, "root"), "--runroot", filepath.Join(pdir, "run"), "system", "reset", "-f").Run()
		os.RemoveAll(pdir)
	}()
	c := uniqueName("pm")
	e.mustRun(t, "run", "--name", c, "busybox", "sh", "-c", "mkdir /w; echo from-cocin > /w/f")
	e.mustRun(t, "commit", "-c", "WORKDIR /w", "-c", "ENV V=1", "-c", `CMD ["sh","-c","pwd; echo $V; cat f"]`, c, "interop:1")
	e.mustRun(t, "rm", c)
	out := filepath.Join(pdir, "c.tar")
	e.mustRun(t, "save", "-o", out, "interop:1")
	podman(t, pdir, "load", "-i", out)
	if got := podman(t, pdir, "run", "--rm", "docker.io/library/interop:1"); !strings.Contains(got, "/w\n1\nfrom-cocin") {
		t.Errorf("podman run of cocin's image: %q", got)
	}
	podman(t, pdir, "tag", "docker.io/library/interop:1", "localhost/pm:1")
	for _, format := range []string{"docker-archive", "oci-archive"} {
		p := filepath.Join(pdir, format+".tar")
		podman(t, pdir, "save", "--format", format, "-o", p, "localhost/pm:1")
		fresh := newBareEnv(t)
		if r := fresh.mustRun(t, "load", "-i", p); !strings.Contains(r.Stdout, "localhost/pm:1") {
			t.Errorf("%s: load output %q", format, r.Stdout)
		}
		r := fresh.mustRun(t, "run", "--rm", "localhost/pm:1")
		if strings.Fields(r.Stdout) == nil || strings.Join(strings.Fields(r.Stdout), " ") != "/w 1 from-cocin" {
			t.Errorf("%s: run of podman's image printed %q", format, r.Stdout)
		}
	}
}

// TestCommitRunningPausesAndThaws: commit of a running container (with
// the default --pause) takes its files and leaves it running.
func TestCommitRunningPausesAndThaws(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := uniqueName("live")
	e.mustRun(t, "run", "-d", "--name", c, "busybox", "sh", "-c", "echo live > /f; exec sleep 100")
	defer e.run(t, "rm", "-f", c)
	var r result
	for i := 0; i < 50; i++ { // the file appears once the shell ran
		if r = e.run(t, "commit", c, "live:1"); r.Code != 0 {
			t.Fatalf("commit: %s", r)
		}
		if out := e.run(t, "run", "--rm", "live:1", "cat", "/f"); strings.TrimSpace(out.Stdout) == "live" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := e.mustRun(t, "run", "--rm", "live:1", "cat", "/f"); strings.TrimSpace(out.Stdout) != "live" {
		t.Fatalf("committed image lacks the running container's file: %s", out)
	}
	if st := e.mustRun(t, "inspect", "--format", "{{.State.Status}}", c); strings.TrimSpace(st.Stdout) != "running" {
		t.Errorf("container after commit: %q, want running (thawed)", st.Stdout)
	}
}

// TestExportImport: export of a stopped container's filesystem, imported
// again, holds its change; nothing stays mounted.
func TestExportImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := uniqueName("exp")
	e.mustRun(t, "run", "--name", c, "busybox", "sh", "-c", "echo exported > /mark")
	defer e.run(t, "rm", c)
	out := filepath.Join(t.TempDir(), "fs.tar")
	e.mustRun(t, "export", "-o", out, c)
	e.mustRun(t, "import", "-c", `CMD ["cat","/mark"]`, out, "exported:1")
	if r := e.mustRun(t, "run", "--rm", "exported:1"); strings.TrimSpace(r.Stdout) != "exported" {
		t.Errorf("run of the exported filesystem: %s", r)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), e.Root) {
		t.Errorf("export left a mount under %s", e.Root)
	}
}

// TestImagesListingFlags: tag, --filter, --format, --no-trunc, --digests,
// image prune of dangling images.
func TestImagesListingFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "tag", "busybox", "me/tool:v1")
	r := e.mustRun(t, "images", "--filter", "reference=me/*", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	if f := strings.Fields(r.Stdout); len(f) != 2 || f[0] != "me/tool:v1" || len(f[1]) != 12 {
		t.Errorf("filtered images: %q", r.Stdout)
	}
	// \t in a format is a tab (Docker's escape); json is one object a line.
	r = e.mustRun(t, "images", "--format", `table {{.Repository}}\t{{.Tag}}`, "me/tool")
	if l := lines(r.Stdout); len(l) != 2 || strings.Join(strings.Fields(l[1]), " ") != "me/tool v1" || strings.Contains(r.Stdout, `\t`) {
		t.Errorf("images --format 'table ...\\t...': %q", r.Stdout)
	}
	r = e.mustRun(t, "images", "--format", "json", "me/tool")
	if l := lines(r.Stdout); len(l) != 1 || !strings.HasPrefix(l[0], "{") || !strings.Contains(l[0], `"Repository":"me/tool"`) {
		t.Errorf("images --format json: %q", r.Stdout)
	}
	if r := e.mustRun(t, "images", "--no-trunc", "-q", "me/tool:v1"); !imageIDRe.MatchString(strings.TrimSpace(r.Stdout)) {
		t.Errorf("--no-trunc -q: %q", r.Stdout)
	}
	// Imported here, never pulled or pushed: no repo digest.
	if r := e.mustRun(t, "images", "--digests"); !strings.Contains(r.Stdout, "DIGEST") || !strings.Contains(r.Stdout, "<none>") {
		t.Errorf("--digests: %s", r.Stdout)
	}
	// An untagged image is dangling; prune removes it and keeps tagged ones.
	id := strings.TrimSpace(e.mustRun(t, "import", busyboxTar).Stdout)
	e.mustRun(t, "import", "-c", "ENV X=1", busyboxTar)
	if r := e.mustRun(t, "images", "-q", "--filter", "dangling=true"); len(lines(r.Stdout)) != 2 {
		t.Errorf("dangling images: %q (imported %s)", r.Stdout, id)
	}
	r = e.mustRun(t, "image", "prune")
	if !strings.Contains(r.Stdout, "Total reclaimed space") || strings.Count(r.Stdout, "deleted: ") != 2 {
		t.Errorf("prune: %s", r.Stdout)
	}
	if r := e.mustRun(t, "images", "-q"); len(lines(r.Stdout)) != 1 {
		t.Errorf("after prune: %q, want busybox (= me/tool) only", r.Stdout)
	}
	expectCommandError(t, e.run(t, "images", "--filter", "nonsense=1"))
}
