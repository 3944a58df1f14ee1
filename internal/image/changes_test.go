package image

import (
	"errors"
	"reflect"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	var cfg ocispec.ImageConfig
	err := ApplyChanges(&cfg, []string{
		`CMD ["/bin/echo", "hi there"]`,
		`ENTRYPOINT /entry.sh --flag`,
		`ENV A=1 B="two words" C=x\ y`,
		`ENV PATH /usr/bin:/bin`,
		`env A=replaced`,
		"WORKDIR /srv",
		"WORKDIR app",
		"USER 1000:1000",
		"EXPOSE 80 53/udp 8000-8002/tcp",
		`LABEL org.example.v=1 "k 2"='v 2'`,
		`VOLUME ["/data", "/logs/"]`,
		"VOLUME /cache /tmp/x",
		"STOPSIGNAL SIGQUIT",
		"\tCMD\techo tab",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ocispec.ImageConfig{
		Cmd:          []string{"/bin/sh", "-c", "echo tab"},
		Entrypoint:   []string{"/bin/sh", "-c", "/entry.sh --flag"},
		Env:          []string{"A=replaced", "B=two words", "C=x y", "PATH=/usr/bin:/bin"},
		WorkingDir:   "/srv/app",
		User:         "1000:1000",
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}},
		Labels:       map[string]string{"org.example.v": "1", "k 2": "v 2"},
		Volumes:      map[string]struct{}{"/data": {}, "/logs": {}, "/cache": {}, "/tmp/x": {}},
		StopSignal:   "SIGQUIT",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("config\n got %+v\nwant %+v", cfg, want)
	}
}

func TestApplyChangesExecForm(t *testing.T) {
	var cfg ocispec.ImageConfig
	if err := ApplyChanges(&cfg, []string{`CMD ["sh"]`, `ENTRYPOINT ["/tini", "--"]`, `CMD [not json`}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/tini", "--"}) {
		t.Fatalf("entrypoint %q", cfg.Entrypoint)
	}
	// Broken JSON falls back to the shell form, as in Docker.
	if !reflect.DeepEqual(cfg.Cmd, []string{"/bin/sh", "-c", "[not json"}) {
		t.Fatalf("cmd %q", cfg.Cmd)
	}
	for _, sig := range []string{"TERM", "9", "SIGRTMIN+3", "sigkill"} {
		if err := ApplyChanges(&cfg, []string{"STOPSIGNAL " + sig}); err != nil {
			t.Errorf("STOPSIGNAL %s: %v", sig, err)
		}
	}
}

func TestApplyChangesRejects(t *testing.T) {
	for _, ch := range []string{
		"", "CMD", "FROM busybox", "RUN echo", "ONBUILD RUN x", "ENV =x", `ENV A="open`, "LABEL novalue",
		"EXPOSE 0", "EXPOSE 70000", "EXPOSE 80/icmp", "EXPOSE 9-3", "EXPOSE http",
		"VOLUME relative", "STOPSIGNAL SIGNOPE", "STOPSIGNAL 99", "USER a b",
	} {
		var cfg ocispec.ImageConfig
		if err := ApplyChanges(&cfg, []string{ch}); err == nil {
			t.Errorf("%q accepted", ch)
		} else if !errors.Is(err, ErrBadChange) {
			t.Errorf("%q: %v is not ErrBadChange", ch, err)
		}
	}
}
