package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestInspectConfigCommand: Docker's rules for the effective entrypoint
// and command, the image's user and labels ({} when none).
func TestInspectConfigCommand(t *testing.T) {
	img := &ocispec.ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"def"}, User: "app"}
	ep := ""
	other := "/other"
	cases := []struct {
		o              RunOptions
		wantEP, wantCm []string
	}{
		{RunOptions{}, []string{"/ep"}, []string{"def"}},
		{RunOptions{Options: specgen.Options{Cmd: []string{"x"}}}, []string{"/ep"}, []string{"x"}},
		{RunOptions{Options: specgen.Options{Entrypoint: &other}}, []string{"/other"}, nil},
		{RunOptions{Options: specgen.Options{Entrypoint: &ep, Cmd: []string{"y"}}}, nil, []string{"y"}},
	}
	for i, c := range cases {
		cfg := inspectConfig(&state.Container{}, &specs.Spec{}, &c.o, img)
		if !reflect.DeepEqual(cfg.Entrypoint, c.wantEP) || !reflect.DeepEqual(cfg.Cmd, c.wantCm) {
			t.Errorf("%d: entrypoint %q cmd %q", i, cfg.Entrypoint, cfg.Cmd)
		}
		if cfg.User != "app" || cfg.Labels == nil {
			t.Errorf("%d: user %q labels %v", i, cfg.User, cfg.Labels)
		}
	}
	o := RunOptions{Detach: true, Options: specgen.Options{User: "root", Storage: specgen.Storage{Volumes: []string{"/anon", "/h:/c"}}}}
	cfg := inspectConfig(&state.Container{}, &specs.Spec{}, &o, img)
	if cfg.User != "root" || cfg.AttachStdout || len(cfg.Volumes) != 1 {
		t.Errorf("user %q attach %v volumes %v", cfg.User, cfg.AttachStdout, cfg.Volumes)
	}
}

// TestHostConfigShape: limits are flattened into HostConfig (no
// "Resources" object), flags keep Docker's names, namespaces the
// container shares with the host say "host".
func TestHostConfigShape(t *testing.T) {
	e := &Engine{}
	o := RunOptions{Options: specgen.Options{
		Resources: specgen.Limits{Memory: 64 << 20, PidsLimit: 50},
		Storage:   specgen.Storage{Volumes: []string{"/anon", "vol:/data:ro"}, Tmpfs: []string{"/run:size=1m"}, ReadOnly: true},
		Security:  specgen.Security{CapAdd: []string{"NET_ADMIN"}, Devices: []string{"/dev/fuse"}, Ulimits: []string{"nofile=10:20"}},
	}}
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
		Mounts: []specs.Mount{{Destination: "/dev/shm", Options: []string{"nosuid", "size=65536k"}}}}
	h := e.hostConfig(&state.Container{}, spec, &o)
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if _, ok := m["Resources"]; ok {
		t.Error("HostConfig has a Resources object")
	}
	for key, want := range map[string]any{"Memory": 64.0 * (1 << 20), "PidsLimit": 50.0, "ReadonlyRootfs": true,
		"ShmSize": 67108864.0, "IpcMode": "host", "PidMode": "", "UTSMode": "host", "CgroupnsMode": "host"} {
		if m[key] != want {
			t.Errorf("%s: %v, want %v", key, m[key], want)
		}
	}
	if !reflect.DeepEqual(h.Binds, []string{"vol:/data:ro"}) || h.Tmpfs["/run"] != "size=1m" {
		t.Errorf("binds %q tmpfs %v", h.Binds, h.Tmpfs)
	}
	if len(h.Devices) != 1 || h.Devices[0].PathInContainer != "/dev/fuse" || h.Devices[0].CgroupPermissions != "rwm" {
		t.Errorf("devices %+v", h.Devices)
	}
	if len(h.Ulimits) != 1 || h.Ulimits[0].Soft != 10 || h.Ulimits[0].Hard != 20 {
		t.Errorf("ulimits %+v", h.Ulimits)
	}
	if !strings.Contains(string(b), `"Dns":[]`) || !strings.Contains(string(b), `"CapAdd":["NET_ADMIN"]`) {
		t.Errorf("json: %s", b)
	}
}
