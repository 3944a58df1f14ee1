package integration

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cpLinkContainer runs a container whose image links /l -> /vol (a named
// volume), /lro -> /ro, /lt -> /t (a tmpfs) and /data -> /etc. The
// read-only bind mount of rodir is given as /lro, so the runtime puts it
// on /ro.
func cpLinkContainer(t *testing.T, rodir string) (name, vol string) {
	t.Helper()
	img := "cplink-" + randomHex(3)
	imageWithEntries(t, img, []*tar.Header{
		{Name: "ro/", Typeflag: tar.TypeDir, Mode: 0o755},
		symlink("l", "/vol"), symlink("lro", "/ro"), symlink("lt", "/t"), symlink("data", "/etc"),
	})
	name, vol = uniqueName("cplink"), uniqueName("cplinkvol")
	rmVolume(t, vol)
	mustRun(t, "run", "-d", "--name", name, "--network", "none", "-v", vol+":/vol",
		"-v", rodir+":/lro:ro", "--tmpfs", "/t", img, "sleep", "60")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	return name, vol
}

// A destination reached through a symlink is resolved as the container
// sees it: /l/ is the volume (the copy was in the layer hidden under the
// mount point), /ro/ and /lro/ the read-only mount (refused, the write
// went to the layer), and /lt/ a tmpfs cp cannot reach (refused, not lost).
func TestCpDestinationThroughSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rodir := filepath.Join(dir, "ro")
	writeHostFile(t, filepath.Join(dir, "f"), "through the link")
	mustMkdir(t, rodir)
	name, _ := cpLinkContainer(t, rodir)
	f := filepath.Join(dir, "f")

	mustRun(t, "cp", f, name+":/l/")
	if r := mustRun(t, "exec", name, "cat", "/vol/f"); r.Stdout != "through the link" {
		t.Errorf("cp into /l/ (a link to the volume /vol): /vol/f holds %q", r.Stdout)
	}
	if r := mustRun(t, "cp", name+":/l/f", "-"); !strings.Contains(r.Stdout, "through the link") {
		t.Errorf("cp out of /l/f: %s", r)
	}
	for _, p := range []string{"/lro/", "/ro/"} {
		r := cocin(t, "cp", f, name+":"+p)
		expectClientError(t, r)
		if !strings.Contains(r.Stderr, "read-only") {
			t.Errorf("cp into the read-only mount as %s: %s", p, r)
		}
	}
	if got := mustRun(t, "exec", name, "ls", "/ro").Stdout; got != "" {
		t.Errorf("cp into /lro/ wrote under the read-only mount: %q", got)
	}
	r := cocin(t, "cp", f, name+":/lt/")
	expectClientError(t, r)
	if !strings.Contains(r.Stderr, "tmpfs") {
		t.Errorf("cp into a tmpfs through a link: %s", r)
	}
	expectClientError(t, cocin(t, "cp", f, name+":/t/"))
}

// A source ending in "/." or "/" follows a symlink in its last component,
// as does -L; without either the link itself is copied, as with Docker.
func TestCpSourceSymlinkToDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustMkdir(t, filepath.Join(dir, "ro"))
	name, _ := cpLinkContainer(t, filepath.Join(dir, "ro"))
	out := func(p string) string { return filepath.Join(dir, p) }
	mustMkdir(t, out("into"))
	mustMkdir(t, out("contents"))

	mustRun(t, "cp", name+":/data/.", out("etc1"))
	mustRun(t, "cp", name+":/data/", out("into"))
	mustRun(t, "cp", name+":/data/.", out("contents"))
	mustRun(t, "cp", "-L", name+":/data", out("followed"))
	for _, p := range []string{"etc1/passwd", "into/data/passwd", "contents/passwd", "followed/passwd"} {
		if fi, err := os.Lstat(out(p)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("want the container's /etc/passwd at %s: %v", p, err)
		}
	}
	mustRun(t, "cp", name+":/data", out("link"))
	if target, err := os.Readlink(out("link")); err != nil || target != "/etc" {
		t.Errorf("cp of a symlink without -L must copy the link: %q %v", target, err)
	}
	expectClientError(t, cocin(t, "cp", name+":/etc/passwd/", out("x")))
}

// On the host side too, "/." follows a symlinked directory and -L a
// symlinked file.
func TestCpHostSourceSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "real", "inner"), "inner")
	for link, target := range map[string]string{"dirlink": "real", "filelink": "real/inner"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	name := uniqueName("cphost")
	mustRun(t, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	mustRun(t, "cp", filepath.Join(dir, "dirlink")+"/.", name+":/fromdir")
	mustRun(t, "cp", "-L", filepath.Join(dir, "filelink"), name+":/fromfile")
	mustRun(t, "cp", filepath.Join(dir, "filelink"), name+":/aslink")
	r := mustRun(t, "exec", name, "sh", "-c", "cat /fromdir/inner /fromfile; readlink /aslink")
	if r.Stdout != "innerinnerreal/inner\n" {
		t.Errorf("host symlinks: want the directory's contents, the file, then the link: %q", r.Stdout)
	}
}

func mustMkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}
