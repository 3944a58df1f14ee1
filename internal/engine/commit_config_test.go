package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cocin-dev/cocin/internal/state"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestContainerConfig: a commit records the run flags over the image's
// config, and not the variables the engine adds to every process.
func TestContainerConfig(t *testing.T) {
	ep := "/bin/sh"
	o := RunOptions{Image: "bb"}
	o.Cmd, o.Entrypoint, o.Workdir, o.User = []string{"-c", "sleep 1"}, &ep, "/tmp", "1:2"
	o.Env = []string{"X=1", "TERM=dumb"}
	o.Storage.Volumes = []string{"/data", "named:/n", "/host:/h"}
	o.Net.Publish = []string{"8080:80", "53/udp"}
	spec := specs.Spec{Process: &specs.Process{Env: []string{
		"PATH=/usr/bin", "HOSTNAME=abc", "A=image", "TERM=dumb", "X=1", "HOME=/root"}}}
	c := &state.Container{StopSignal: "SIGUSR1"}
	c.Options, _ = json.Marshal(o)
	c.Spec, _ = json.Marshal(spec)
	base := ocispec.ImageConfig{Env: []string{"A=image"}, Cmd: []string{"img-cmd"}, Entrypoint: []string{"img-ep"},
		ExposedPorts: map[string]struct{}{"22/tcp": {}}, Labels: map[string]string{"l": "v"}}

	got := containerConfig(c, base)
	want := ocispec.ImageConfig{
		Env: []string{"A=image", "TERM=dumb", "X=1"}, Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "sleep 1"},
		WorkingDir: "/tmp", User: "1:2", StopSignal: "SIGUSR1", Labels: map[string]string{"l": "v"},
		ExposedPorts: map[string]struct{}{"22/tcp": {}, "80/tcp": {}, "53/udp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("containerConfig:\n got %+v\nwant %+v", got, want)
	}
	if len(base.ExposedPorts) != 1 {
		t.Errorf("the image's config was changed: %+v", base.ExposedPorts)
	}

	// Without flags the image's config stays, and --entrypoint "" clears
	// the entrypoint and the image's CMD with it.
	empty := ""
	o = RunOptions{Image: "bb"}
	c.Options, _ = json.Marshal(o)
	c.StopSignal = ""
	if got := containerConfig(c, base); !reflect.DeepEqual(got.Cmd, base.Cmd) || !reflect.DeepEqual(got.Entrypoint, base.Entrypoint) {
		t.Errorf("no flags: %+v", got)
	}
	o.Entrypoint = &empty
	c.Options, _ = json.Marshal(o)
	if got := containerConfig(c, base); got.Entrypoint != nil || got.Cmd != nil {
		t.Errorf("--entrypoint \"\": %+v", got)
	}
}
