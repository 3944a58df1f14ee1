package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestRunEcho(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "echo", "hello")
	if r.Stdout != "hello\n" {
		t.Errorf("want stdout %q: %s", "hello\n", r)
	}
	// The argv reaches the process intact: no re-splitting, no shell.
	r = mustRun(t, "run", "--rm", "busybox", "echo", "a  b", "$HOME", "'q'")
	if r.Stdout != "a  b $HOME 'q'\n" {
		t.Errorf("arguments changed on the way: %s", r)
	}
}

func TestRunStdoutStderr(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
	if r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err\n") || strings.Contains(r.Stderr, "out") {
		t.Errorf("stdout and stderr not kept apart: %s", r)
	}
}

func TestRunStdin(t *testing.T) {
	t.Parallel()
	r := cocinWithStdin(t, "line one\nline two\n", "run", "--rm", "-i", "busybox", "cat")
	expectCode(t, r, 0)
	if r.Stdout != "line one\nline two\n" {
		t.Errorf("-i: stdin not passed through: %s", r)
	}
	// Without -i the container gets no input, like Docker's /dev/null.
	r = cocinWithStdin(t, "ignored\n", "run", "--rm", "busybox", "cat")
	expectCode(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("without -i the container read our stdin: %s", r)
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		engine bool // an engine error: also wants "cocin: ..." on stderr
	}{
		{"exit 0", []string{"run", "--rm", "busybox", "sh", "-c", "exit 0"}, 0, false},
		{"exit 3", []string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, false},
		{"exit 255", []string{"run", "--rm", "busybox", "sh", "-c", "exit 255"}, 255, false},
		{"missing image", []string{"run", "--rm", "no-such-image-" + randomHex(4), "true"}, 125, true},
		{"missing tag", []string{"run", "--rm", "busybox:no-such-tag", "true"}, 125, true},
		{"unknown user", []string{"run", "--rm", "-u", "no-such-user", "busybox", "true"}, 125, true},
		{"unknown group", []string{"run", "--rm", "-u", "app:no-such-group", "busybox", "true"}, 125, true},
		{"env without name", []string{"run", "--rm", "-e", "=x", "busybox", "true"}, 125, true},
		{"missing env file", []string{"run", "--rm", "--env-file", "/nonexistent/env", "busybox", "true"}, 125, true},
		{"relative workdir", []string{"run", "--rm", "-w", "relative/dir", "busybox", "true"}, 125, true},
		{"unknown flag", []string{"run", "--rm", "--no-such-flag", "busybox", "true"}, 125, true},
		{"no image", []string{"run", "--rm"}, 125, true},
		{"not executable", []string{"run", "--rm", "busybox", "/etc/passwd"}, 126, false},
		{"directory", []string{"run", "--rm", "busybox", "/tmp"}, 126, false},
		{"not found", []string{"run", "--rm", "busybox", "nonexistent-cmd"}, 127, false},
		{"not found by path", []string{"run", "--rm", "busybox", "/bin/nonexistent-cmd"}, 127, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cocin(t, tc.args...)
			if tc.engine {
				expectEngineError(t, r)
			} else {
				expectCode(t, r, tc.code)
			}
			if (tc.code == 126 || tc.code == 127) && strings.TrimSpace(r.Stderr) == "" {
				t.Errorf("exit %d without a message on stderr: %s", tc.code, r)
			}
		})
	}
}

// envOf runs "env" with extra run flags and returns the variables.
func envOf(t *testing.T, e *engineEnv, flags ...string) map[string]string {
	t.Helper()
	args := append(append([]string{"run", "--rm"}, flags...), "busybox", "env")
	r := e.mustRun(t, args...)
	vars := map[string]string{}
	for _, l := range lines(r.Stdout) {
		if k, v, ok := strings.Cut(l, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

func TestRunEnv(t *testing.T) {
	t.Parallel()
	t.Run("image defaults", func(t *testing.T) {
		t.Parallel()
		vars := envOf(t, defaultEnv)
		if p := vars["PATH"]; !strings.Contains(":"+p+":", ":/bin:") || !strings.Contains(":"+p+":", ":/usr/bin:") {
			t.Errorf("want a default PATH with /usr/bin and /bin, got %q (%v)", p, vars)
		}
		if vars["HOME"] != "/root" {
			t.Errorf("want HOME=/root for root, got %q", vars["HOME"])
		}
	})
	t.Run("-e", func(t *testing.T) {
		t.Parallel()
		vars := envOf(t, defaultEnv, "-e", "FOO=bar", "-e", "SPACED=a b", "-e", "EMPTY=", "-e", "EQ=x=y")
		for k, want := range map[string]string{"FOO": "bar", "SPACED": "a b", "EMPTY": "", "EQ": "x=y"} {
			if got, ok := vars[k]; !ok || got != want {
				t.Errorf("want %s=%q, got %q (set: %v)", k, want, got, ok)
			}
		}
	})
	t.Run("-e overrides the image", func(t *testing.T) {
		t.Parallel()
		vars := envOf(t, defaultEnv, "-e", "PATH=/bin")
		if vars["PATH"] != "/bin" {
			t.Errorf("want PATH=/bin, got %q", vars["PATH"])
		}
	})
	t.Run("-e NAME takes the host's value", func(t *testing.T) {
		t.Parallel()
		e := *defaultEnv
		e.ExtraEnv = []string{"COCIN_IT_FROM_HOST=host value"}
		vars := envOf(t, &e, "-e", "COCIN_IT_FROM_HOST", "-e", "COCIN_IT_UNSET_ON_HOST")
		if vars["COCIN_IT_FROM_HOST"] != "host value" {
			t.Errorf("want COCIN_IT_FROM_HOST from the host, got %q", vars["COCIN_IT_FROM_HOST"])
		}
		if v, ok := vars["COCIN_IT_UNSET_ON_HOST"]; ok {
			t.Errorf("a name unset on the host must not be set in the container, got %q", v)
		}
	})
	t.Run("--env-file", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "env")
		content := "# a comment\n\nA=1\nB=two words\nC=\"quoted\"\nFROMHOST\n"
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		e := *defaultEnv
		e.ExtraEnv = []string{"FROMHOST=h"}
		vars := envOf(t, &e, "--env-file", f, "-e", "A=overridden")
		// Docker: values are taken literally (quotes kept); -e wins over the file.
		for k, want := range map[string]string{"A": "overridden", "B": "two words", "C": `"quoted"`, "FROMHOST": "h"} {
			if vars[k] != want {
				t.Errorf("want %s=%q, got %q", k, want, vars[k])
			}
		}
	})
	t.Run("HOME of -u app", func(t *testing.T) {
		t.Parallel()
		vars := envOf(t, defaultEnv, "-u", "app")
		if vars["HOME"] != "/home/app" {
			t.Errorf("want HOME=/home/app, got %q", vars["HOME"])
		}
	})
}

func TestRunWorkdir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, want string }{
		{"", "/"},
		{"/tmp", "/tmp"},
		{"/work/new/sub", "/work/new/sub"}, // created on the fly
	} {
		t.Run("w="+tc.flag, func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "--rm"}
			if tc.flag != "" {
				args = append(args, "-w", tc.flag)
			}
			r := mustRun(t, append(args, "busybox", "pwd")...)
			if strings.TrimSpace(r.Stdout) != tc.want {
				t.Errorf("want pwd %q: %s", tc.want, r)
			}
		})
	}
	t.Run("used by relative paths", func(t *testing.T) {
		t.Parallel()
		r := mustRun(t, "run", "--rm", "-w", "/etc", "busybox", "cat", "passwd")
		if !strings.Contains(r.Stdout, "root:x:0:0") {
			t.Errorf("cat passwd in /etc: %s", r)
		}
	})
}

func TestRunHostname(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "run", "--rm", "busybox", "hostname")
	got := strings.TrimSpace(r.Stdout)
	if got == "" || got == host {
		t.Errorf("want a container hostname other than the host's %q: %s", host, r)
	}
	r = mustRun(t, "run", "--rm", "-h", "it-host", "busybox", "hostname")
	if strings.TrimSpace(r.Stdout) != "it-host" {
		t.Errorf("-h it-host: %s", r)
	}
	if h, _ := os.Hostname(); h != host {
		t.Errorf("the host's hostname changed from %q to %q", host, h)
	}
}

func TestRunEntrypoint(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint")
	if r.Stdout != "via entrypoint\n" {
		t.Errorf("--entrypoint echo: %s", r)
	}
	r = mustRun(t, "run", "--rm", "--entrypoint", "/bin/sh", "busybox", "-c", "echo $0")
	if strings.TrimSpace(r.Stdout) != "/bin/sh" {
		t.Errorf("--entrypoint /bin/sh -c: %s", r)
	}
	r = mustRun(t, "run", "--rm", "--entrypoint", "pwd", "busybox")
	if strings.TrimSpace(r.Stdout) != "/" {
		t.Errorf("--entrypoint without a command: %s", r)
	}
}

var (
	idUID    = regexp.MustCompile(`uid=(\d+)`)
	idGID    = regexp.MustCompile(`gid=(\d+)`)
	idGroups = regexp.MustCompile(`groups=(\S+)`)
	idNum    = regexp.MustCompile(`(\d+)`)
)

// parseID reads busybox id's "uid=1000(app) gid=1000(app) groups=50(staff),...".
func parseID(t *testing.T, out string) (uid, gid int, groups map[int]bool) {
	t.Helper()
	m1, m2 := idUID.FindStringSubmatch(out), idGID.FindStringSubmatch(out)
	if m1 == nil || m2 == nil {
		t.Fatalf("cannot parse id output %q", out)
	}
	uid, _ = strconv.Atoi(m1[1])
	gid, _ = strconv.Atoi(m2[1])
	groups = map[int]bool{}
	if m := idGroups.FindStringSubmatch(out); m != nil {
		for _, g := range strings.Split(m[1], ",") {
			if n := idNum.FindString(g); n != "" {
				v, _ := strconv.Atoi(n)
				groups[v] = true
			}
		}
	}
	return uid, gid, groups
}

func TestRunUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user      string
		uid, gid  int
		supplGrps []int // must be among id's groups
	}{
		{"", 0, 0, nil},
		{"0", 0, 0, nil},
		{"1000", 1000, 1000, []int{50}}, // a known uid takes its passwd entry and groups
		{"app", 1000, 1000, []int{50}},
		{"app:staff", 1000, 50, nil},
		{"app:1000", 1000, 1000, nil},
		{"1000:50", 1000, 50, nil},
		{"nobody", 65534, 65534, nil},
		{"4242", 4242, 0, nil}, // not in passwd: gid 0
		{"4242:4343", 4242, 4343, nil},
	} {
		t.Run("u="+tc.user, func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "--rm"}
			if tc.user != "" {
				args = append(args, "-u", tc.user)
			}
			r := mustRun(t, append(args, "busybox", "id")...)
			uid, gid, groups := parseID(t, r.Stdout)
			if uid != tc.uid || gid != tc.gid {
				t.Errorf("want uid=%d gid=%d: %s", tc.uid, tc.gid, r)
			}
			for _, g := range tc.supplGrps {
				if !groups[g] {
					t.Errorf("want supplementary group %d: %s", g, r)
				}
			}
			// An explicit group is the only one, as with Docker and runc.
			if strings.Contains(tc.user, ":") {
				for g := range groups {
					if g != tc.gid {
						t.Errorf("-u %s: supplementary group %d: %s", tc.user, g, r)
					}
				}
			}
		})
	}
	t.Run("cannot write root's files", func(t *testing.T) {
		t.Parallel()
		r := cocin(t, "run", "--rm", "-u", "app", "busybox", "sh", "-c", "echo x >> /etc/passwd")
		if r.Code == 0 {
			t.Errorf("uid 1000 wrote /etc/passwd: %s", r)
		}
		r = mustRun(t, "run", "--rm", "-u", "app", "busybox", "sh", "-c", "echo x > /tmp/f && cat /tmp/f")
		if strings.TrimSpace(r.Stdout) != "x" {
			t.Errorf("uid 1000 cannot use /tmp: %s", r)
		}
	})
}

func TestRunNameDuplicate(t *testing.T) {
	t.Parallel()
	name := uniqueName("dup")
	t.Cleanup(func() { defaultEnv.exec(nil, "", defaultTimeout, "rm", "-f", name) })
	mustRun(t, "run", "--name", name, "busybox", "true")
	r := cocin(t, "run", "--name", name, "busybox", "true")
	expectEngineError(t, r)
	if !strings.Contains(r.Stderr, name) {
		t.Errorf("the error should name %q: %s", name, r)
	}
	// --rm frees the name once the container is gone.
	free := uniqueName("rm")
	mustRun(t, "run", "--rm", "--name", free, "busybox", "true")
	mustRun(t, "run", "--rm", "--name", free, "busybox", "true")
}

func TestRunNameRace(t *testing.T) {
	t.Parallel()
	name := uniqueName("race")
	t.Cleanup(func() { defaultEnv.exec(nil, "", defaultTimeout, "rm", "-f", name) })
	const n = 4
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = cocin(t, "run", "--name", name, "busybox", "true")
		}()
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		switch r.Code {
		case 0:
			won++
		case 125:
		default:
			t.Errorf("want 0 or 125: %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent run --name %s: %d succeeded, want exactly 1: %v", n, name, won, results)
	}
}
