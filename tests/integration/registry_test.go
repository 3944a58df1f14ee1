package integration

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
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
	r := e.mustRun(t, "push", "busybox", ref)
	pushed := strings.TrimSpace(strings.TrimPrefix(lines(r.Stdout)[len(lines(r.Stdout))-1], "digest: "))

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
	expectEngineError(t, fresh.run(t, "pull", host+"/no/such:1"))
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
	expectEngineError(t, e.run(t, "push", "busybox", host+"/bb:1"))
	expectEngineError(t, e.run(t, "login", "-u", "user", "-p", "wrong", host))
	if r := e.exec(t, "pass\n", defaultTimeout, "login", "-u", "user", "--password-stdin", host); r.Code != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
		t.Fatalf("login: %s", r)
	}
	b, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if err != nil || !strings.Contains(string(b), host) {
		t.Fatalf("config.json after login: %q, %v", b, err)
	}
	e.mustRun(t, "push", "busybox", host+"/bb:1")
	e.mustRun(t, "logout", host)
	expectEngineError(t, e.run(t, "pull", host+"/bb:1"))
	// As docker: logging out again is no error.
	if r := e.mustRun(t, "logout", host); strings.TrimSpace(r.Stdout) != "Not logged in to "+host {
		t.Errorf("second logout: %s", r)
	}
}
