package specgen

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
	group := "root:x:0:\nstaff:x:50:app\nusers:x:100:app,other\napp:x:1000:\n"
	for name, data := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := fakeRoot(t)
	cases := []struct {
		in      string
		uid     uint32
		gid     uint32
		groups  []uint32
		home    string
		wantErr bool
	}{
		{"", 0, 0, nil, "/root", false},
		{"root", 0, 0, nil, "/root", false},
		{"app", 1000, 1000, []uint32{50, 100}, "/home/app", false},
		{"1000", 1000, 1000, []uint32{50, 100}, "/home/app", false},
		{"app:staff", 1000, 50, nil, "/home/app", false}, // an explicit group: no supplementary ones (Docker, runc)
		{"1000:7", 1000, 7, nil, "/home/app", false},
		{"4242", 4242, 0, nil, "/", false},
		{"ghost", 0, 0, nil, "", true},
		{"app:ghosts", 0, 0, nil, "", true},
		{"app:", 0, 0, nil, "", true},
		{":5", 0, 0, nil, "", true},
	}
	for _, c := range cases {
		u, err := ResolveUser(root, c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("%q: want error, got %+v", c.in, u)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if u.UID != c.uid || u.GID != c.gid || !reflect.DeepEqual(u.Groups, c.groups) || u.Home != c.home {
			t.Errorf("%q: got %+v", c.in, u)
		}
	}
}

func TestResolveUserSymlinkStaysInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	// An image whose /etc/passwd points at the host's must read its own.
	if err := os.Symlink("/../../../../etc/shadow", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveUser(root, "root"); err == nil {
		t.Fatal("user found through a symlink out of the rootfs")
	}
}

func TestCommand(t *testing.T) {
	img := &ocispec.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"a", "b"}}
	empty := ""
	other := "/other"
	cases := []struct {
		o    Options
		want []string
	}{
		{Options{}, []string{"/entry", "a", "b"}},
		{Options{Cmd: []string{"x"}}, []string{"/entry", "x"}},
		{Options{Entrypoint: &other}, []string{"/other"}},
		{Options{Entrypoint: &other, Cmd: []string{"y"}}, []string{"/other", "y"}},
		{Options{Entrypoint: &empty, Cmd: []string{"sh"}}, []string{"sh"}},
	}
	for _, c := range cases {
		got, err := Command(img, &c.o)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: got %v, %v; want %v", c.o, got, err, c.want)
		}
	}
	if _, err := Command(&ocispec.ImageConfig{}, &Options{}); err == nil {
		t.Error("no command: want error")
	}
}

func TestEnvPrecedence(t *testing.T) {
	t.Setenv("COCIN_TEST_HOSTVAR", "fromhost")
	dir := t.TempDir()
	ef := filepath.Join(dir, "env")
	os.WriteFile(ef, []byte("# comment\n\nFILE=1\nSHARED=file\nCOCIN_TEST_HOSTVAR\nCOCIN_TEST_UNSET\n"), 0o644)
	img := &ocispec.ImageConfig{Env: []string{"PATH=/img/bin", "SHARED=image", "IMG=1"}}
	o := &Options{EnvFiles: []string{ef}, Env: []string{"SHARED=flag", "EMPTY=", "COCIN_TEST_UNSET2"}, Tty: true}
	got, err := Env(img, o, "h1", &User{Home: "/root"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/img/bin", "HOSTNAME=h1", "SHARED=flag", "IMG=1", "TERM=xterm", "FILE=1", "COCIN_TEST_HOSTVAR=fromhost", "EMPTY=", "HOME=/root"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	for _, bad := range []string{"=x", "", "A B=1"} {
		if _, _, err := ParseEnv(bad); err == nil {
			t.Errorf("ParseEnv(%q): want error", bad)
		}
	}
}

func TestGenerateDefaults(t *testing.T) {
	root := fakeRoot(t)
	s, err := Generate(&ocispec.ImageConfig{Cmd: []string{"sh"}}, &Options{User: "app", CgroupsPath: "cocin/x"}, root, "host1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 1000 || len(s.Process.Capabilities.Effective) != 0 || len(s.Process.Capabilities.Bounding) != len(DefaultCapabilities) {
		t.Errorf("non-root user should keep capabilities only in the bounding set: %+v", s.Process.Capabilities)
	}
	if s.Hostname != "host1" || s.Process.Cwd != "/" || s.Linux.CgroupsPath != "cocin/x" {
		t.Errorf("unexpected spec: %+v", s)
	}
	if _, err := Generate(&ocispec.ImageConfig{Cmd: []string{"sh"}}, &Options{Workdir: "rel"}, root, "h"); err == nil {
		t.Error("relative workdir: want error")
	}
}
