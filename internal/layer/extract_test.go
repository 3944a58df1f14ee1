package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

func TestExtractPreservesMetadata(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	mtime := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	suid := file("bin/su", "#!")
	suid.hdr.Mode = 0o4755
	owned := file("home/u/f", "data")
	owned.hdr.Uid, owned.hdr.Gid, owned.hdr.ModTime = 1000, 1001, mtime
	xf := file("cap", "x")
	xf.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.cocin":             "yes",
		"SCHILY.xattr.trusted.overlay.opaque": "y", // must be dropped
	}
	d := dir("var/")
	d.hdr.Mode, d.hdr.ModTime, d.hdr.Uid = 0o1777, mtime, 5
	link := symlink("var/lnk", "/nowhere")
	link.hdr.Uid, link.hdr.ModTime = 7, mtime
	fifo := tarEntry{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "p", Mode: 0o640}}
	tb := buildTar(t, suid, owned, xf, d, file("var/x", "x"), link, hardlink("bin/su2", "bin/su"), fifo)

	chain, _, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	root := s.Dir(chain)
	if st := lstat(t, filepath.Join(root, "bin/su")); st.Mode&0o7777 != 0o4755 || st.Nlink != 2 {
		t.Fatalf("bin/su mode %o nlink %d, want 4755 and 2", st.Mode&0o7777, st.Nlink)
	}
	st := lstat(t, filepath.Join(root, "home/u/f"))
	if st.Uid != 1000 || st.Gid != 1001 || st.Mtim.Sec != mtime.Unix() {
		t.Fatalf("home/u/f uid %d gid %d mtime %d", st.Uid, st.Gid, st.Mtim.Sec)
	}
	// Directory times hold although entries were created in it later.
	st = lstat(t, filepath.Join(root, "var"))
	if st.Mode&0o7777 != 0o1777 || st.Uid != 5 || st.Mtim.Sec != mtime.Unix() {
		t.Fatalf("var mode %o uid %d mtime %d", st.Mode&0o7777, st.Uid, st.Mtim.Sec)
	}
	st = lstat(t, filepath.Join(root, "var/lnk"))
	if st.Mode&unix.S_IFMT != unix.S_IFLNK || st.Uid != 7 || st.Mtim.Sec != mtime.Unix() {
		t.Fatalf("var/lnk mode %o uid %d mtime %d", st.Mode, st.Uid, st.Mtim.Sec)
	}
	if target, _ := os.Readlink(filepath.Join(root, "var/lnk")); target != "/nowhere" {
		t.Fatalf("symlink target %q", target)
	}
	if st := lstat(t, filepath.Join(root, "p")); st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o777 != 0o640 {
		t.Fatalf("fifo mode %o", st.Mode)
	}
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(filepath.Join(root, "cap"), "user.cocin", buf)
	if err != nil || string(buf[:n]) != "yes" {
		t.Fatalf("xattr user.cocin = %q, %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "cap"), "trusted.overlay.opaque", buf); err == nil {
		t.Fatal("a trusted.overlay xattr from the tar was applied")
	}
}

func TestExtractWhiteouts(t *testing.T) {
	requireRoot(t)
	s := openStore(t)
	wh := file("etc/.wh.passwd", "")
	wh.hdr.Mode = 0o600
	tb := buildTar(t, dir("etc/"), wh, dir("opt/"), file("opt/.wh..wh..opq", ""), file("opt/new", "n"),
		file("usr/.wh..wh..opq", ""), file(".wh..wh.plnk", ""))
	chain, _, err := s.Unpack("", bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	root := s.Dir(chain)
	st := lstat(t, filepath.Join(root, "etc/passwd"))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("etc/passwd: mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
	}
	for _, d := range []string{"opt", "usr"} {
		buf := make([]byte, 4)
		n, err := unix.Lgetxattr(filepath.Join(root, d), "trusted.overlay.opaque", buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Fatalf("%s opaque xattr = %q, %v", d, buf[:n], err)
		}
	}
	got := strings.Join(listTree(t, root), " ")
	if want := "etc etc/passwd opt opt/new usr"; got != want {
		t.Fatalf("tree %q, want %q (no .wh. files left)", got, want)
	}
}

// escapeCase is a malicious layer: extraction must fail or stay inside
// the layer, and leave the outside directory and host files untouched.
type escapeCase struct {
	name    string
	entries func(outside string) []tarEntry
	wantErr bool
	check   func(t *testing.T, layerRoot, outside string) // optional
}

func TestExtractRefusesEscapes(t *testing.T) {
	requireRoot(t)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	passwdSt := lstat(t, "/etc/passwd")
	cases := []escapeCase{
		{name: "dotdot", wantErr: true, entries: func(string) []tarEntry {
			return []tarEntry{file("../../escape", "x")}
		}},
		{name: "dotdot inside", wantErr: true, entries: func(string) []tarEntry {
			return []tarEntry{dir("a/"), file("a/../../escape", "x")}
		}},
		{name: "absolute", wantErr: true, entries: func(o string) []tarEntry {
			return []tarEntry{file(filepath.Join(o, "abs-escape"), "x")}
		}},
		{name: "symlink dir then file", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("evil", o), file("evil/pwned", "x")}
		}, check: func(t *testing.T, root, o string) {
			// The symlink's target is read inside the layer.
			if _, err := os.Stat(filepath.Join(root, o, "pwned")); err != nil {
				t.Fatalf("file not inside the layer: %v", err)
			}
		}},
		{name: "relative symlink dir then file", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("evil", strings.Repeat("../", 20)+o[1:]), file("evil/pwned", "x")}
		}},
		{name: "symlink chain", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("a", "b"), symlink("b", o), dir("a/sub/"), file("a/sub/pwned", "x")}
		}},
		{name: "file over symlink", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("victim", filepath.Join(o, "victim")), file("victim", "pwned")}
		}, check: func(t *testing.T, root, _ string) {
			if st := lstat(t, filepath.Join(root, "victim")); st.Mode&unix.S_IFMT != unix.S_IFREG {
				t.Fatal("victim is not a regular file in the layer")
			}
		}},
		{name: "dir over symlink", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("d", o), dir("d/"), file("d/pwned", "x")}
		}},
		{name: "whiteout through symlink", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("evil", o), file("evil/.wh.victim", "")}
		}},
		{name: "opaque through symlink", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("evil", o), file("evil/.wh..wh..opq", "")}
		}},
		{name: "hardlink to host file", wantErr: true, entries: func(string) []tarEntry {
			return []tarEntry{hardlink("pw", "/etc/passwd")}
		}},
		{name: "hardlink dotdot", wantErr: true, entries: func(string) []tarEntry {
			return []tarEntry{hardlink("x", "../x")}
		}},
		{name: "hardlink through symlink", wantErr: true, entries: func(string) []tarEntry {
			return []tarEntry{symlink("etc", "/etc"), hardlink("pw", "etc/passwd")}
		}},
		{name: "hardlink then write", entries: func(o string) []tarEntry {
			return []tarEntry{symlink("lnk", filepath.Join(o, "victim")), hardlink("hl", "lnk"), file("hl", "pwned")}
		}},
		{name: "devices skipped", entries: func(string) []tarEntry {
			return []tarEntry{
				{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "sda", Mode: 0o660, Devmajor: 8}},
				{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "mem", Mode: 0o660, Devmajor: 1, Devminor: 1}},
			}
		}, check: func(t *testing.T, root, _ string) {
			if got := listTree(t, root); len(got) != 0 {
				t.Fatalf("device nodes created: %v", got)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(outside, "victim")
			if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(filepath.Join(base, "store"))
			if err != nil {
				t.Fatal(err)
			}
			chain, _, err := s.Unpack("", bytes.NewReader(buildTar(t, tc.entries(outside)...)))
			if tc.wantErr {
				if err == nil {
					t.Fatal("unpack succeeded")
				}
				if strings.Contains(tc.name, "dotdot") || tc.name == "absolute" || tc.name == "hardlink to host file" {
					if !errors.Is(err, errUnsafe) {
						t.Fatalf("error %v does not say the path is unsafe", err)
					}
				}
			} else if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			assertUntouched(t, base, outside, victim)
			if got, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(got, passwd) {
				t.Fatal("/etc/passwd changed")
			}
			if st := lstat(t, "/etc/passwd"); st.Nlink != passwdSt.Nlink || st.Ino != passwdSt.Ino {
				t.Fatal("/etc/passwd got a new link")
			}
			if tc.check != nil && err == nil {
				tc.check(t, s.Dir(chain), outside)
			}
		})
	}
}

// assertUntouched checks that outside still holds only the untouched
// victim and that base holds nothing but outside and the store.
func assertUntouched(t *testing.T, base, outside, victim string) {
	t.Helper()
	if got := listTree(t, outside); len(got) != 1 || got[0] != "victim" {
		t.Fatalf("outside dir now holds %v", got)
	}
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Fatalf("victim now %q", b)
	}
	buf := make([]byte, 4)
	if _, err := unix.Lgetxattr(outside, "trusted.overlay.opaque", buf); err == nil {
		t.Fatal("outside dir was marked opaque")
	}
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if e.Name() != "outside" && e.Name() != "store" {
			t.Fatalf("unexpected %s next to the store", e.Name())
		}
	}
}
