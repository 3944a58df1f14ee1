package integration

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// expectClientError checks a failure as Docker's client reports one
// from its daemon: exit 1 and a "cocin: ..." message on stderr.
func expectClientError(t *testing.T, r result) {
	t.Helper()
	expectCode(t, r, 1)
	if !strings.Contains(r.Stderr, "cocin: ") {
		t.Errorf("want a \"cocin: ...\" error on stderr: %s", r)
	}
}

// inspectOne runs inspect on ref and decodes its single object.
func inspectOne(t *testing.T, e *engineEnv, args ...string) map[string]any {
	t.Helper()
	r := e.mustRun(t, append([]string{"inspect"}, args...)...)
	var v []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("inspect is not a JSON array of one: %v\n%s", err, r)
	}
	return v[0]
}

// TestInspectDockerShape: the keys scripts written for Docker read are
// there, with cocin's true values; limits sit flat in HostConfig.
func TestInspectDockerShape(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	vol := t.TempDir()
	id := e.detached(t, "--network", "none", "-m", "64m", "--cap-add", "NET_ADMIN", "-v", vol+":/data:ro",
		"--tmpfs", "/scratch", "--read-only", "busybox", "sleep", "60")
	d := inspectOne(t, e, id)
	for _, k := range []string{"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
		"HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel",
		"AppArmorProfile", "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"} {
		if _, ok := d[k]; !ok {
			t.Errorf("no %s in inspect", k)
		}
	}
	if img, _ := d["Image"].(string); !strings.HasPrefix(img, "sha256:") || d["Platform"] != "linux" {
		t.Errorf("Image %v Platform %v", d["Image"], d["Platform"])
	}
	for _, k := range []string{"ResolvConfPath", "HostnamePath", "HostsPath"} {
		if p, _ := d[k].(string); p == "" || !fileExists(p) {
			t.Errorf("%s %q: not a file", k, p)
		}
	}
	hc, _ := d["HostConfig"].(map[string]any)
	if _, ok := hc["Resources"]; ok {
		t.Error("HostConfig has a Resources object: Docker flattens the limits")
	}
	if hc["Memory"] != float64(64<<20) || hc["ReadonlyRootfs"] != true || hc["NetworkMode"] != "none" {
		t.Errorf("HostConfig Memory %v ReadonlyRootfs %v NetworkMode %v", hc["Memory"], hc["ReadonlyRootfs"], hc["NetworkMode"])
	}
	if got := e.field(t, id, `{{json .HostConfig.CapAdd}} {{json .HostConfig.Binds}} {{json .HostConfig.Tmpfs}}`); got != `["NET_ADMIN"] ["`+vol+`:/data:ro"] {"/scratch":""}` {
		t.Errorf("CapAdd Binds Tmpfs: %s", got)
	}
	gd := e.field(t, id, `{{.GraphDriver.Name}} {{.GraphDriver.Data.LowerDir}} {{.GraphDriver.Data.UpperDir}}`)
	if f := strings.Fields(gd); len(f) != 3 || f[0] != "overlay" || !fileExists(f[1]) || !fileExists(f[2]) {
		t.Errorf("GraphDriver: %q", gd)
	}
	cfg := e.field(t, id, `{{.Config.Image}} {{json .Config.Labels}} {{json .Config.Cmd}} {{.Config.AttachStdout}}`)
	if cfg != `busybox {} ["sleep","60"] false` {
		t.Errorf("Config: %q", cfg)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestInspectTemplateErrors: a field that does not exist fails with
// exit 1 and a message naming it, and prints nothing for that object.
func TestInspectTemplateErrors(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "busybox", "sleep", "60")
	r := e.run(t, "inspect", "-f", "{{.Nope}}", id)
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "" || !strings.Contains(r.Stderr, `"Nope"`) || !strings.Contains(r.Stderr, "template") {
		t.Errorf("inspect -f {{.Nope}}: %s", r)
	}
	r = e.run(t, "inspect", "-f", "{{.Id}} {{.State.Nope}}", id)
	if r.Code != 1 || strings.Contains(r.Stdout, id) {
		t.Errorf("a failing template printed part of the object: %s", r)
	}
}

// TestInspectImagesAndTypes: inspect finds a container first, then an
// image (printed as image inspect prints it); --type restricts; a name
// nothing has prints [] and fails; several names print what was found.
func TestInspectImagesAndTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, "create", "--name", "c1", "--network", "none", "busybox", "true")
	e.removeAtEnd(t, "c1")
	img := e.mustRun(t, "inspect", "busybox")
	if want := e.mustRun(t, "image", "inspect", "busybox"); img.Stdout != want.Stdout {
		t.Errorf("inspect IMAGE differs from image inspect:\n%s\n%s", img.Stdout, want.Stdout)
	}
	if got := strings.TrimSpace(e.mustRun(t, "inspect", "--type", "container", "-f", "{{.Name}}", "c1").Stdout); got != "/c1" {
		t.Errorf("--type container: %q", got)
	}
	if r := e.run(t, "inspect", "--type", "container", "busybox"); r.Code != 1 || !strings.Contains(r.Stderr, "no such container") {
		t.Errorf("--type container IMAGE: %s", r)
	}
	if r := e.run(t, "inspect", "--type", "image", "c1"); r.Code != 1 {
		t.Errorf("--type image CONTAINER: %s", r)
	}
	r := e.run(t, "inspect", "nothing-here")
	if r.Code != 1 || strings.TrimSpace(r.Stdout) != "[]" || !strings.Contains(r.Stderr, "no such object: nothing-here") {
		t.Errorf("a missing name: %s", r)
	}
	r = e.run(t, "inspect", "-f", "{{.Id}}", "c1", "nothing-here", "busybox")
	if out := lines(r.Stdout); r.Code != 1 || len(out) != 2 || !strings.HasPrefix(out[1], "sha256:") {
		t.Errorf("container, missing, image: %s", r)
	}
	if r := e.run(t, "inspect", "--type", "bogus", "c1"); r.Code != 1 {
		t.Errorf("--type bogus: %s", r)
	}
}

// TestTopPsOptions: top passes its options to the host's ps and keeps
// the container's rows, finding the PID column by its title.
func TestTopPsOptions(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	id := e.detached(t, "--network", "none", "busybox", "sleep", "61")
	pid := e.field(t, id, "{{.State.Pid}}")
	out := lines(e.mustRun(t, "top", id).Stdout)
	if len(out) != 2 || !strings.HasPrefix(out[0], "UID") || !strings.HasSuffix(out[1], "sleep 61") {
		t.Errorf("top (ps -ef): %q", out)
	}
	out = lines(e.mustRun(t, "top", id, "aux").Stdout)
	if len(out) != 2 || !strings.HasPrefix(out[0], "USER") || !strings.Contains(out[0], "COMMAND") || strings.Fields(out[1])[1] != pid {
		t.Errorf("top aux: %q", out)
	}
	out = lines(e.mustRun(t, "top", id, "-o", "comm,pid").Stdout)
	if len(out) != 2 || strings.Join(strings.Fields(out[1]), " ") != "sleep "+pid {
		t.Errorf("top -o comm,pid: %q", out)
	}
	r := e.run(t, "top", id, "-o", "comm")
	if r.Code != 1 || !strings.Contains(r.Stderr, "PID") {
		t.Errorf("top without a PID column: %s", r)
	}
	if r := e.run(t, "top", id, "--no-such-ps-option"); r.Code != 1 || !strings.Contains(r.Stderr, "ps") {
		t.Errorf("top with a bad ps option: %s", r)
	}
	if _, err := strconv.Atoi(pid); err != nil {
		t.Fatalf("State.Pid %q", pid)
	}
}

// TestExitCodeContainerCommands: as with Docker's client, a command on
// a missing container exits 1, so does a wrong number of arguments; a
// bad flag exits 125, and run keeps 125 for a missing image.
func TestExitCodeContainerCommands(t *testing.T) {
	t.Parallel()
	e := defaultEnv
	missing := "no-such-" + randomHex(4)
	for _, args := range [][]string{
		{"start", missing}, {"stop", missing}, {"restart", missing}, {"kill", missing}, {"rm", missing},
		{"wait", missing}, {"inspect", "--type", "container", missing}, {"rename", missing, "x" + missing},
		{"pause", missing}, {"unpause", missing}, {"top", missing}, {"attach", missing}, {"exec", missing, "true"},
		{"port", missing}, {"stats", "--no-stream", missing}, {"update", "-m", "64m", missing},
		{"cp", missing + ":/etc/hostname", t.TempDir()}, {"diff", missing}, {"export", missing}, {"commit", missing},
	} {
		r := e.run(t, args...)
		expectClientError(t, r)
		if !strings.Contains(r.Stderr, "no such container") {
			t.Errorf("want \"no such container\": %s", r)
		}
	}
	for _, args := range [][]string{{"top"}, {"rename", "x"}, {"stop"}, {"exec", "x"}} {
		expectClientError(t, e.run(t, args...))
	}
	expectEngineError(t, e.run(t, "stop", "--no-such-flag", missing))
	expectEngineError(t, e.run(t, "stop", "-t", "soon", missing))
	expectEngineError(t, e.run(t, "run", "--rm", missing+"-image"))
}
