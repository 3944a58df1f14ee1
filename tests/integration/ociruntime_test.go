package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociEnv is a private state root for `cocin runtime` and a bundle made of
// the suite's busybox rootfs and `cocin runtime spec`'s config.
type ociEnv struct {
	e      *engineEnv
	root   string
	bundle string
}

func newOCIEnv(t *testing.T) *ociEnv {
	t.Helper()
	e := newBareEnv(t)
	dir := filepath.Dir(e.Root)
	o := &ociEnv{e: e, root: filepath.Join(dir, "oci"), bundle: filepath.Join(dir, "bundle")}
	if err := os.MkdirAll(filepath.Join(o.bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-C", filepath.Join(o.bundle, "rootfs"), "-xf", busyboxTar).CombinedOutput(); err != nil {
		t.Fatalf("unpack busybox: %v: %s", err, out)
	}
	o.mustRT(t, "spec", "--bundle", o.bundle)
	// The tests, like a shim, choose the cgroup parent (the runtime removes
	// only a container's own cgroup, as runc does): theirs to remove, once
	// their containers are deleted.
	t.Cleanup(func() {
		for _, id := range strings.Fields(o.rt(t, "list", "-q").Stdout) {
			o.rt(t, "delete", "--force", id)
		}
		removeCgroupDirs(o.e.CgroupParent)
	})
	return o
}

// removeCgroupDirs removes the cgroup directory name in every hierarchy.
func removeCgroupDirs(name string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
	dirs = append(dirs, filepath.Join("/sys/fs/cgroup", name))
	for _, d := range dirs {
		_ = os.Remove(d)
	}
}

func (o *ociEnv) rt(t *testing.T, args ...string) result {
	t.Helper()
	return o.e.exec(t, "", defaultTimeout, append([]string{"runtime", "--root", o.root}, args...)...)
}

// rtDetached runs a command that leaves a container running: the container
// inherits its stdio (as from runc), so it gets files, never the test's pipes.
func (o *ociEnv) rtDetached(t *testing.T, args ...string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(cocinBin, append([]string{"runtime", "--root", o.root}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = o.e.environ(), out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("cocin runtime %s: %v: %s", strings.Join(args, " "), err, b)
	}
}

func (o *ociEnv) mustRT(t *testing.T, args ...string) result {
	t.Helper()
	r := o.rt(t, args...)
	if r.Code != 0 {
		t.Fatalf("failed: %s", r)
	}
	return r
}

// config rewrites the bundle's config.json through edit.
func (o *ociEnv) config(t *testing.T, edit func(*specs.Spec)) {
	t.Helper()
	p := filepath.Join(o.bundle, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Linux.CgroupsPath = o.e.CgroupParent + "/" + uniqueName("oci")
	edit(&s)
	if b, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (o *ociEnv) state(t *testing.T, id string) specs.State {
	t.Helper()
	var st specs.State
	r := o.mustRT(t, "state", id)
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("state is not JSON: %v: %s", err, r)
	}
	return st
}

func (o *ociEnv) waitStatus(t *testing.T, id string, want specs.ContainerState) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if o.state(t, id).Status == want {
			return
		}
	}
	t.Fatalf("container %s never became %s", id, want)
}

// hook writes its stdin (the container state) to dir/name.json.
func hook(dir, name string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, name+".json")}}
}

func readHookState(t *testing.T, dir, name string) specs.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatalf("%s hook did not run: %v", name, err)
	}
	var st specs.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s hook got no state JSON: %v: %q", name, err, b)
	}
	return st
}

// TestRuntimeLifecycle drives one container through every state with runc's
// commands, with hooks of every host-side phase recording what they got.
func TestRuntimeLifecycle(t *testing.T) {
	t.Parallel()
	o := newOCIEnv(t)
	hooks := t.TempDir()
	o.config(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Annotations = map[string]string{"org.example": "yes"}
		s.Hooks = &specs.Hooks{
			CreateRuntime: []specs.Hook{hook(hooks, "createRuntime")},
			Poststart:     []specs.Hook{hook(hooks, "poststart")},
			Poststop:      []specs.Hook{hook(hooks, "poststop")},
		}
	})
	id := uniqueName("life")
	pidFile := filepath.Join(hooks, "pid")
	o.rtDetached(t, "create", "--bundle", o.bundle, "--pid-file", pidFile, id)
	t.Cleanup(func() { o.rt(t, "delete", "--force", id) })

	st := o.state(t, id)
	pb, _ := os.ReadFile(pidFile)
	if st.Status != specs.StateCreated || strconv.Itoa(st.Pid) != string(pb) || st.Bundle != o.bundle {
		t.Fatalf("after create: state %+v, pid file %q", st, pb)
	}
	if h := readHookState(t, hooks, "createRuntime"); h.Pid != st.Pid || h.Status != specs.StateCreated || h.Annotations["org.example"] != "yes" {
		t.Errorf("createRuntime hook state: %+v", h)
	}
	if r := o.rt(t, "list", "-q"); strings.TrimSpace(r.Stdout) != id {
		t.Errorf("list -q: %s", r)
	}

	o.rtDetached(t, "start", id)
	o.waitStatus(t, id, specs.StateRunning)
	if h := readHookState(t, hooks, "poststart"); h.Status != specs.StateRunning {
		t.Errorf("poststart hook state: %+v", h)
	}
	if r := o.rt(t, "exec", id, "sh", "-c", "echo $$ $(hostname); exit 4"); r.Code != 4 || !strings.Contains(r.Stdout, "cocin") {
		t.Errorf("exec: want exit 4 and the container's hostname: %s", r)
	}
	var pids []int
	if err := json.Unmarshal([]byte(o.mustRT(t, "ps", "--format", "json", id).Stdout), &pids); err != nil || len(pids) == 0 || pids[0] != st.Pid {
		t.Errorf("ps --format json: %v %v (init %d)", pids, err, st.Pid)
	}
	o.mustRT(t, "pause", id)
	o.waitStatus(t, id, specs.ContainerState("paused"))
	if r := o.rt(t, "--log-format", "bogus", "list"); r.Code != 1 || !strings.Contains(r.Stderr, "invalid log-format") {
		t.Errorf("--log-format bogus must fail, as with runc: %s", r)
	}
	if r := o.rt(t, "pause", id); r.Code != 1 {
		t.Errorf("pause of a paused container must fail, as with runc: %s", r)
	}
	o.mustRT(t, "resume", id)
	o.waitStatus(t, id, specs.StateRunning)
	if r := o.mustRT(t, "events", "--stats", id); !strings.Contains(r.Stdout, `"type":"stats"`) {
		t.Errorf("events --stats: %s", r)
	}
	// update takes sizes with units, as runc does.
	o.mustRT(t, "update", "--memory", "100M", id)
	if r := o.mustRT(t, "events", "--stats", id); !strings.Contains(r.Stdout, `"limit":`+strconv.Itoa(100<<20)) {
		t.Errorf("update --memory 100M: stats say %s", r)
	}
	if r := o.rt(t, "delete", id); r.Code == 0 {
		t.Fatalf("delete of a running container must fail: %s", r)
	}
	o.mustRT(t, "kill", id, "KILL")
	o.waitStatus(t, id, specs.StateStopped)
	o.mustRT(t, "delete", id)
	if h := readHookState(t, hooks, "poststop"); h.ID != id {
		t.Errorf("poststop hook state: %+v", h)
	}
	if r := o.rt(t, "state", id); r.Code != 1 || !strings.HasPrefix(r.Stderr, "cocin: ") {
		t.Errorf("state after delete: want exit 1 and a cocin: error: %s", r)
	}
}

// TestRuntimeArgv0 runs a container through a cocin-runtime link, the name
// containerd's shim is given, and checks that run returns its exit code.
func TestRuntimeArgv0(t *testing.T) {
	t.Parallel()
	o := newOCIEnv(t)
	o.config(t, func(s *specs.Spec) { s.Process.Args = []string{"sh", "-c", "echo out; exit 3"} })
	link := filepath.Join(filepath.Dir(o.root), "cocin-runtime")
	if err := os.Symlink(cocinBin, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "--root", o.root, "run", "--bundle", o.bundle, uniqueName("argv0"))
	cmd.Env = o.e.environ()
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || string(out) != "out\n" {
		t.Fatalf("cocin-runtime run: want exit 3 and \"out\": %v %q", err, out)
	}
	if r := o.rt(t, "list", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("run left a container behind: %s", r)
	}
}

// TestRuntimeFailuresLeaveNothing: a create that fails (command not found,
// failing hook) leaves no state, no process and no cgroup; errors are
// runc's (exit 1) with cocin's message.
func TestRuntimeFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	o := newOCIEnv(t)
	for _, edit := range []func(*specs.Spec){
		func(s *specs.Spec) { s.Process.Args = []string{"/no/such/binary"} },
		func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
		},
	} {
		o.config(t, edit)
		r := o.rt(t, "create", "--bundle", o.bundle, uniqueName("fail"))
		if r.Code != 1 || !strings.HasPrefix(r.Stderr, "cocin: ") {
			t.Errorf("want exit 1 and a cocin: error: %s", r)
		}
		if r := o.rt(t, "list", "-q"); strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("failed create left a container: %s", r)
		}
	}
	if r := o.rt(t, "delete", "no-such"); r.Code != 1 {
		t.Errorf("delete of a missing container: %s", r)
	}
	if r := o.rt(t, "delete", "--force", "no-such"); r.Code != 0 {
		t.Errorf("delete --force of a missing container must succeed (as runc): %s", r)
	}
	if r := o.rt(t, "create", "--bundle", filepath.Join(o.bundle, "nope"), "x"); r.Code != 1 || !strings.Contains(r.Stderr, "config.json") {
		t.Errorf("missing bundle: %s", r)
	}
}

// TestRuntimeJoinNamespaces starts a second container in the first one's
// network, uts and mount namespaces given by path.
func TestRuntimeJoinNamespaces(t *testing.T) {
	t.Parallel()
	o := newOCIEnv(t)
	o.config(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", "1000"} })
	a := uniqueName("nsa")
	o.rtDetached(t, "run", "--detach", "--bundle", o.bundle, a)
	t.Cleanup(func() { o.rt(t, "delete", "--force", a) })
	pa := o.state(t, a).Pid
	o.config(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pa) + "/ns/" + map[specs.LinuxNamespaceType]string{
					specs.NetworkNamespace: "net", specs.UTSNamespace: "uts", specs.IPCNamespace: "ipc"}[ns.Type]
			}
		}
	})
	b := uniqueName("nsb")
	o.rtDetached(t, "run", "--detach", "--bundle", o.bundle, b)
	t.Cleanup(func() { o.rt(t, "delete", "--force", b) })
	pb := o.state(t, b).Pid
	for _, ns := range []string{"net", "uts", "ipc", "pid"} {
		la, _ := os.Readlink("/proc/" + strconv.Itoa(pa) + "/ns/" + ns)
		lb, _ := os.Readlink("/proc/" + strconv.Itoa(pb) + "/ns/" + ns)
		if (la == lb) != (ns != "pid") {
			t.Errorf("%s namespace: %s vs %s", ns, la, lb)
		}
	}
}
