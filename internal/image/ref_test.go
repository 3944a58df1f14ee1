package image

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	cases := []struct{ in, full, familiar string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"},
		{"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"me/app:v1.0-rc_1", "docker.io/me/app:v1.0-rc_1", "me/app:v1.0-rc_1"},
		{"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"},
		{"quay.io/org/my.app__x--y:T", "quay.io/org/my.app__x--y:T", "quay.io/org/my.app__x--y:T"},
		{"my-registry.example.com:443/img", "my-registry.example.com:443/img:latest", "my-registry.example.com:443/img:latest"},
		{"abc123", "docker.io/library/abc123:latest", "abc123:latest"},
	}
	for _, c := range cases {
		r, err := parseRef(c.in)
		if err != nil {
			t.Errorf("parseRef(%q): %v", c.in, err)
			continue
		}
		if r.String() != c.full || r.Familiar() != c.familiar || familiar(r.String()) != c.familiar {
			t.Errorf("parseRef(%q) = %s / %s, want %s / %s", c.in, r, r.Familiar(), c.full, c.familiar)
		}
	}
}

func TestParseRefRejects(t *testing.T) {
	for _, in := range []string{
		"", "Busybox", "busybox:", "busybox:-x", "busybox:.x", "busybox:a b", "busybox:" + strings.Repeat("t", 129),
		"a//b", "/busybox", "busybox/", "-a", "a-", "a..b", "a___b", "a@sha256:abcd", "bad_host.io:x/app",
		"-host.io/app", "host.io:/app", "a/B", "busy box", strings.Repeat("a", 256),
	} {
		if r, err := parseRef(in); err == nil {
			t.Errorf("parseRef(%q) accepted: %s", in, r)
		} else if !errors.Is(err, ErrInvalidRef) {
			t.Errorf("parseRef(%q): %v is not ErrInvalidRef", in, err)
		}
	}
	// The longest tag is fine.
	if _, err := parseRef("a:" + strings.Repeat("t", 128)); err != nil {
		t.Error(err)
	}
}

func TestNormalizeRef(t *testing.T) {
	if got, err := NormalizeRef("docker.io/library/alpine"); err != nil || got != "alpine:latest" {
		t.Fatalf("NormalizeRef = %q, %v", got, err)
	}
}

func TestRemoteRefDefaults(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                  "index.docker.io/library/busybox:latest",
		"me/app:2":                 "index.docker.io/me/app:2",
		"docker.io/library/alpine": "index.docker.io/library/alpine:latest",
		"127.0.0.1:5000/x/y:z":     "127.0.0.1:5000/x/y:z",
	} {
		r, err := RemoteRef(in)
		if err != nil || r.Name() != want {
			t.Errorf("RemoteRef(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	if _, err := RemoteRef("UPPER/case"); err == nil {
		t.Error("an invalid name was accepted")
	}
}
