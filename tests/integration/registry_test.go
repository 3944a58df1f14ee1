package integration

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// loopbackRegistry serves the OCI distribution API on 127.0.0.1, behind
// HTTP basic auth for user:pass when auth is set.
func loopbackRegistry(t *testing.T, auth bool) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); auth && (!ok || u != "user" || p != "pass") {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestPushPullCLI: push then pull through a loopback registry gives the
// same image ID and manifest digest, and the pulled image runs.
func TestPushPullCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := loopbackRegistry(t, false)
	ref := host + "/lib/bb:1"
	// Made here, the image has no repo digest yet.
	if d := e.mustRun(t, "images", "--format", "{{.Digest}}", "busybox").Stdout; strings.TrimSpace(d) != "<none>" {
		t.Errorf("DIGEST of an imported image: %q, want <none>", d)
	}
	r := e.mustRun(t, "push", "busybox", ref)
	pushed := strings.TrimSpace(strings.TrimPrefix(lines(r.Stdout)[len(lines(r.Stdout))-1], "digest: "))
	if !regexp.MustCompile(`(?m)^[0-9a-f]{12}: Pushed$`).MatchString(r.Stdout) {
		t.Errorf("push output %q, want a line per layer", r.Stdout)
	}
	if r := e.mustRun(t, "push", "busybox", host+"/lib/other:1"); !strings.Contains(r.Stdout, ": Layer already exists") {
		t.Errorf("second push output %q, want the layer found there", r.Stdout)
	}

	fresh := newBareEnv(t)
	r = fresh.mustRun(t, "pull", ref)
	if !strings.Contains(r.Stdout, "Digest: "+pushed) || !strings.Contains(r.Stdout, "Pull complete") {
		t.Errorf("pull output %q, want digest %s and per-layer lines", r.Stdout, pushed)
	}
	want := e.mustRun(t, "images", "-q", "--no-trunc", "busybox").Stdout
	if got := fresh.mustRun(t, "images", "-q", "--no-trunc", ref).Stdout; got != want {
		t.Errorf("pulled ID %q, pushed %q", got, want)
	}
	if d := fresh.mustRun(t, "images", "--format", "{{.Digest}}", ref).Stdout; strings.TrimSpace(d) != pushed {
		t.Errorf("images --format {{.Digest}}: %q, want %s", d, pushed)
	}
	if r := fresh.mustRun(t, "run", "--rm", ref, "echo", "pulled"); strings.TrimSpace(r.Stdout) != "pulled" {
		t.Errorf("run of the pulled image: %s", r)
	}
	// A second pull finds every blob in the store.
	if r := fresh.mustRun(t, "pull", ref); !strings.Contains(r.Stdout, "Already exists") {
		t.Errorf("second pull: %q", r.Stdout)
	}
	expectCommandError(t, fresh.run(t, "pull", host+"/no/such:1"))
}

// TestPullIndexDigest: the digest pull prints and images --digests shows
// for a multi-platform image is the index's, which the tag points at.
func TestPullIndexDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := loopbackRegistry(t, false)
	e.mustRun(t, "push", "busybox", host+"/lib/bb:1")
	mine, err := remote.Image(mustRef(t, host+"/lib/bb:1"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: mine, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
		mutate.IndexAddendum{Add: theirs, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}})
	if err := remote.WriteIndex(mustRef(t, host+"/lib/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	fresh := newBareEnv(t)
	if r := fresh.mustRun(t, "pull", host+"/lib/multi:1"); !strings.Contains(r.Stdout, "Digest: "+want.String()) {
		t.Errorf("pull of an index printed %q, want its digest %s", r.Stdout, want)
	}
	if r := fresh.mustRun(t, "images", "--digests", host+"/lib/multi"); !strings.Contains(r.Stdout, want.String()) {
		t.Errorf("images --digests: %q, want %s", r.Stdout, want)
	}
}

// TestPullTerminalProgress: on a terminal every layer's bar, the last
// one's too, ends as "Pull complete".
func TestPullTerminalProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := loopbackRegistry(t, false)
	e.mustRun(t, "commit", "-c", "ENV A=1", mustCreate(t, e), host+"/lib/two:1")
	e.mustRun(t, "push", host+"/lib/two:1")
	s := newBareEnv(t).startPTY(t, "pull", host+"/lib/two:1")
	if code := s.Wait(defaultTimeout); code != 0 {
		t.Fatalf("pull on a terminal: exit %d: %q", code, s.Output())
	}
	// The last line drawn for each layer (the bars may be redrawn any
	// number of times) says "Pull complete".
	out := s.Output()
	last := map[string]string{}
	for _, l := range strings.Split(strings.ReplaceAll(out, "\x1b[2A\x1b[J", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if id, rest, ok := strings.Cut(l, " "); ok && len(id) == 12 && (strings.Contains(rest, "Downloading") || strings.Contains(rest, "complete") || strings.Contains(rest, "Extracting") || strings.Contains(rest, "Waiting")) {
			last[id] = rest
		}
	}
	if len(last) != 2 {
		t.Fatalf("pull on a terminal: want 2 layers, got %v: %q", last, out)
	}
	for id, l := range last {
		if !strings.HasPrefix(l, "Pull complete") {
			t.Errorf("pull on a terminal: layer %s ends as %q: %q", id, l, out)
		}
	}
}

// mustCreate creates a container that has written a file, for commit.
func mustCreate(t *testing.T, e *engineEnv) string {
	t.Helper()
	c := uniqueName("src")
	e.mustRun(t, "run", "--network", "none", "--name", c, "busybox", "sh", "-c", "echo x > /x")
	return c
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLoginLogout: login checks the credentials with the registry and
// stores them in $DOCKER_CONFIG/config.json, where pull finds them;
// logout removes them.
func TestLoginLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := loopbackRegistry(t, true)
	cfgDir := t.TempDir()
	e.ExtraEnv = []string{"DOCKER_CONFIG=" + cfgDir}
	expectCommandError(t, e.run(t, "push", "busybox", host+"/bb:1"))
	expectCommandError(t, e.run(t, "login", "-u", "user", "-p", "wrong", host))
	if r := e.exec(t, "pass\n", defaultTimeout, "login", "-u", "user", "--password-stdin", host); r.Code != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
		t.Fatalf("login: %s", r)
	}
	b, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if err != nil || !strings.Contains(string(b), host) {
		t.Fatalf("config.json after login: %q, %v", b, err)
	}
	e.mustRun(t, "push", "busybox", host+"/bb:1")
	e.mustRun(t, "logout", host)
	expectCommandError(t, e.run(t, "pull", host+"/bb:1"))
	// As docker: logging out again is no error.
	if r := e.mustRun(t, "logout", host); strings.TrimSpace(r.Stdout) != "Not logged in to "+host {
		t.Errorf("second logout: %s", r)
	}
}
