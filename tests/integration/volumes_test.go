package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// imageWithEntries imports busybox plus extra tar entries (symlinks that
// try to lead out of the rootfs) as image name, with -c changes.
func imageWithEntries(t *testing.T, name string, extra []*tar.Header, changes ...string) {
	t.Helper()
	in, err := os.Open(busyboxTar)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range extra {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "-c", c)
	}
	mustRun(t, append(args, p, name)...)
	t.Cleanup(func() { cocin(t, "rmi", "-f", name) })
}

func symlink(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
}

// hostDirState records what a host directory holds, to show a test left
// it as it was.
func hostDirState(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func isMountPoint(t *testing.T, p string) bool {
	t.Helper()
	for _, mp := range mountPoints() {
		if mp == p {
			return true
		}
	}
	return false
}

func writeHostFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rmVolume(t *testing.T, names ...string) {
	t.Cleanup(func() { cocin(t, append([]string{"volume", "rm", "-f"}, names...)...) })
}

func TestVolumeBindMountReadOnlyAndReadWrite(t *testing.T) {
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "in"), "from-host")
	r := mustRun(t, "run", "--rm", "-v", dir+":/h:ro", "busybox", "sh", "-c", "cat /h/in; touch /h/new 2>/dev/null && echo WROTE || echo REFUSED")
	if !strings.Contains(r.Stdout, "from-host") || !strings.Contains(r.Stdout, "REFUSED") {
		t.Errorf("read-only bind: want the host file and a refused write: %s", r)
	}
	mustRun(t, "run", "--rm", "-v", dir+":/h", "busybox", "sh", "-c", "echo back > /h/out")
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "back\n" {
		t.Errorf("read-write bind: host sees %q, want \"back\\n\"", b)
	}
}

func TestVolumeBindMissingHostPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "made", "by", "v")
	mustRun(t, "run", "--rm", "-v", dir+":/x", "busybox", "true")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("-v with a missing host path must create it (Docker): %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	name := uniqueName("bindmissing")
	r := cocin(t, "run", "--name", name, "--mount", "type=bind,source="+missing+",target=/x", "busybox", "true")
	expectEngineError(t, r)
	if !strings.Contains(r.Stderr, "does not exist") {
		t.Errorf("want \"bind source path does not exist\": %s", r)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("--mount created the missing host path %s", missing)
	}
	if r := cocin(t, "inspect", name); r.Code == 0 {
		t.Errorf("a refused run left its container behind: %s", r)
	}
}

func TestVolumeNamedDataSurvivesContainer(t *testing.T) {
	vol := uniqueName("keep")
	rmVolume(t, vol)
	mustRun(t, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo persisted > /data/f")
	r := mustRun(t, "run", "--rm", "-v", vol+":/other", "busybox", "cat", "/other/f")
	if strings.TrimSpace(r.Stdout) != "persisted" {
		t.Errorf("named volume lost its data after the container went: %s", r)
	}
	if r := mustRun(t, "volume", "ls", "-q"); !strings.Contains(r.Stdout, vol) {
		t.Errorf("volume ls -q does not list %s: %s", vol, r)
	}
}

func TestVolumeInUseRefused(t *testing.T) {
	vol, name := uniqueName("used"), uniqueName("user")
	rmVolume(t, vol)
	mustRun(t, "create", "--name", name, "-v", vol+":/data", "busybox", "true")
	r := cocin(t, "volume", "rm", vol)
	if r.Code == 0 || !strings.Contains(r.Stderr, "in use") {
		t.Errorf("volume rm of a volume in use must be refused: %s", r)
	}
	if r := mustRun(t, "volume", "ls", "-q", "--filter", "dangling=true"); strings.Contains(r.Stdout, vol) {
		t.Errorf("a volume in use listed as dangling: %s", r)
	}
	mustRun(t, "rm", name)
	mustRun(t, "volume", "rm", vol)
	if r := cocin(t, "volume", "inspect", vol); r.Code == 0 {
		t.Errorf("volume still there after rm: %s", r)
	}
}

func TestVolumeCopyUpFromImage(t *testing.T) {
	vol := uniqueName("etc")
	rmVolume(t, vol)
	r := mustRun(t, "run", "--rm", "-v", vol+":/etc", "busybox", "cat", "/etc/passwd")
	if !strings.Contains(r.Stdout, "root:") {
		t.Errorf("a new volume over /etc must hold the image's /etc: %s", r)
	}
	r = mustRun(t, "run", "--rm", "-v", vol+":/etc", "busybox", "cat", "/etc/hostname")
	if strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("/etc/hostname must stay mounted over a volume on /etc: %s", r)
	}
	r = mustRun(t, "run", "--rm", "-v", uniqueName("nocopy")+":/etc:nocopy", "busybox", "ls", "/etc")
	if strings.Contains(r.Stdout, "passwd") {
		t.Errorf("nocopy volume got the image's content: %s", r)
	}
	mustRun(t, "volume", "prune", "-a")
}

func TestVolumeAnonymousAndImageVolume(t *testing.T) {
	img := "volimg-" + randomHex(3)
	imageWithEntries(t, img, []*tar.Header{
		{Name: "seed/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "seed/file", Typeflag: tar.TypeReg, Mode: 0o644, Size: 0},
	}, "VOLUME /seed")
	name := uniqueName("anon")
	before := mustRun(t, "volume", "ls", "-q").Stdout
	mustRun(t, "run", "--name", name, "-v", "/scratch", img, "sh", "-c", "ls /seed; echo x > /scratch/f")
	r := mustRun(t, "inspect", "-f", "{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.Name}} {{end}}", name)
	fields := strings.Fields(r.Stdout)
	if len(fields) != 2 || !strings.Contains(r.Stdout, "volume:/seed:") || !strings.Contains(r.Stdout, "volume:/scratch:") {
		t.Fatalf("want two anonymous volumes (/scratch and the image's /seed) in inspect: %s", r)
	}
	after := mustRun(t, "volume", "ls", "-q").Stdout
	if len(lines(after)) != len(lines(before))+2 {
		t.Errorf("want 2 new volumes:\nbefore %q\nafter %q", before, after)
	}
	mustRun(t, "rm", "-v", name)
	if got := mustRun(t, "volume", "ls", "-q").Stdout; len(lines(got)) != len(lines(before)) {
		t.Errorf("rm -v must remove the anonymous volumes: before %q, now %q", before, got)
	}
	// --rm removes them too.
	mustRun(t, "run", "--rm", "-v", "/scratch", "busybox", "true")
	if got := mustRun(t, "volume", "ls", "-q").Stdout; len(lines(got)) != len(lines(before)) {
		t.Errorf("run --rm must remove its anonymous volumes: before %q, now %q", before, got)
	}
}

func TestVolumeMountFlag(t *testing.T) {
	vol := uniqueName("mnt")
	rmVolume(t, vol)
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "f"), "bound")
	r := mustRun(t, "run", "--rm",
		"--mount", "type=bind,src="+dir+",dst=/b,readonly",
		"--mount", "type=volume,source="+vol+",target=/v",
		"--mount", "type=tmpfs,destination=/t,tmpfs-size=1048576,tmpfs-mode=1770",
		"busybox", "sh", "-c", "cat /b/f; touch /b/x 2>/dev/null || echo RO; echo ok > /v/f && cat /v/f; stat -c %a /t; df -k /t | tail -1")
	out := r.Stdout
	for _, want := range []string{"bound", "RO", "ok", "1770", "1024"} {
		if !strings.Contains(out, want) {
			t.Errorf("--mount: want %q in the output: %s", want, r)
		}
	}
	for _, bad := range []string{"type=nfs,target=/x", "type=bind,target=/x", "type=tmpfs,source=x,target=/x", "type=volume,src=v,target=relative", "type=volume,target=/x,bogus=1"} {
		expectEngineError(t, cocin(t, "run", "--rm", "--mount", bad, "busybox", "true"))
	}
}

func TestVolumeTmpfsAndReadOnlyRoot(t *testing.T) {
	r := mustRun(t, "run", "--rm", "--read-only", "--tmpfs", "/tmp:size=512k,mode=1777", "busybox", "sh", "-c",
		"touch /x 2>/dev/null && echo ROOTRW || echo ROOTRO; touch /tmp/y && echo TMPRW; touch /run/z 2>/dev/null && echo RUNRW || echo RUNRO; df -k /tmp | tail -1")
	for _, want := range []string{"ROOTRO", "TMPRW", "RUNRO", " 512 "} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("--read-only --tmpfs /tmp: want %q: %s", want, r)
		}
	}
	r = mustRun(t, "run", "--rm", "--tmpfs", "/scratch", "busybox", "sh", "-c", "grep ' /scratch ' /proc/mounts")
	if !strings.Contains(r.Stdout, "tmpfs") || !strings.Contains(r.Stdout, "noexec") {
		t.Errorf("--tmpfs: want a noexec tmpfs (Docker's default): %s", r)
	}
	expectEngineError(t, cocin(t, "run", "--rm", "--tmpfs", "/x:bogus=1", "busybox", "true"))
	// --read-only covers the files cocin mounts into /etc too.
	r = mustRun(t, "run", "--rm", "--read-only", "busybox", "sh", "-c",
		"for f in hosts hostname resolv.conf; do (: >> /etc/$f) 2>/dev/null && echo $f-rw || echo $f-ro; done")
	if r.Stdout != "hosts-ro\nhostname-ro\nresolv.conf-ro\n" {
		t.Errorf("--read-only: /etc files: %s", r)
	}
}

func TestVolumesFrom(t *testing.T) {
	vol, src := uniqueName("shared"), uniqueName("src")
	rmVolume(t, vol)
	dir := t.TempDir()
	mustRun(t, "run", "--name", src, "-v", vol+":/data", "-v", dir+":/bind", "busybox", "sh", "-c", "echo shared > /data/f")
	t.Cleanup(func() { cocin(t, "rm", "-f", src) })
	r := mustRun(t, "run", "--rm", "--volumes-from", src+":ro", "busybox", "sh", "-c", "cat /data/f; touch /bind/x 2>/dev/null || echo RO")
	if !strings.Contains(r.Stdout, "shared") || !strings.Contains(r.Stdout, "RO") {
		t.Errorf("--volumes-from CTR:ro: want the volume's data and read-only mounts: %s", r)
	}
	expectEngineError(t, cocin(t, "run", "--rm", "--volumes-from", "no-such-container", "busybox", "true"))
}

func TestVolumeCommands(t *testing.T) {
	a, b := uniqueName("va"), uniqueName("vb")
	rmVolume(t, a, b)
	mustRun(t, "volume", "create", "--label", "team=blue", a)
	if r := mustRun(t, "volume", "create", b); strings.TrimSpace(r.Stdout) != b {
		t.Errorf("volume create prints the name: %s", r)
	}
	r := mustRun(t, "volume", "ls", "-q", "--filter", "label=team=blue")
	if got := lines(r.Stdout); len(got) != 1 || got[0] != a {
		t.Errorf("ls --filter label=team=blue: want only %s: %s", a, r)
	}
	r = mustRun(t, "volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", "--filter", "name="+a)
	if strings.TrimSpace(r.Stdout) != a+" local team=blue" {
		t.Errorf("ls --format: %s", r)
	}
	r = mustRun(t, "volume", "inspect", "-f", "{{.Mountpoint}}", a)
	if !strings.HasPrefix(strings.TrimSpace(r.Stdout), defaultEnv.Root) {
		t.Errorf("inspect Mountpoint must be under the root: %s", r)
	}
	expectCommandError(t, cocin(t, "volume", "create", "bad/name"))
	if r := cocin(t, "volume", "inspect", "nosuchvolume"); r.Code == 0 || !strings.Contains(r.Stderr, "no such volume") {
		t.Errorf("inspect of a missing volume: %s", r)
	}
	r = mustRun(t, "volume", "prune", "-a", "--filter", "label=team=blue")
	if !strings.Contains(r.Stdout, a) || strings.Contains(r.Stdout, b) {
		t.Errorf("prune -a --filter label=team=blue: want %s removed, %s kept: %s", a, b, r)
	}
}

func TestVolumeBadSpecsLeaveNothing(t *testing.T) {
	before := mustRun(t, "ps", "-aq").Stdout
	vbefore := mustRun(t, "volume", "ls", "-q").Stdout
	for _, v := range []string{"./relative:/x", "-bad:/x", "/a:/b:c:d", "vol:relative", "/x:/", "vol:/x:bogus", "a:/x,y:/z", "/tmp:/x:ro,rw"} {
		expectEngineError(t, cocin(t, "run", "--rm", "-v", v, "busybox", "true"))
	}
	expectEngineError(t, cocin(t, "run", "--rm", "-v", "/d1", "-v", uniqueName("dup")+":/d1", "busybox", "true"))
	// A mount that fails in the init (no directory can be made in /proc)
	// is cocin's failure (125), not a code the command could return.
	expectEngineError(t, cocin(t, "run", "--rm", "-v", t.TempDir()+":/proc/x", "busybox", "true"))
	expectEngineError(t, cocin(t, "run", "-d", "-v", t.TempDir()+":/proc/x", "busybox", "true"))
	if after := mustRun(t, "ps", "-aq").Stdout; after != before {
		t.Errorf("failed runs left containers: before %q after %q", before, after)
	}
	if after := mustRun(t, "volume", "ls", "-q").Stdout; after != vbefore {
		t.Errorf("failed runs left volumes: before %q after %q", vbefore, after)
	}
}

// The escape tests: an image's symlinks point a mount target out of the
// rootfs. Each mount must land inside the rootfs and the host must not
// change.
func TestVolumeEscapeAbsoluteSymlink(t *testing.T) {
	img := "escabs-" + randomHex(3)
	imageWithEntries(t, img, []*tar.Header{symlink("data", "/etc")})
	hostEtc := hostDirState(t, "/etc")
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "marker-"+img), "m")
	r := mustRun(t, "run", "--rm", "-v", dir+":/data", img, "ls", "/etc")
	if !strings.Contains(r.Stdout, "marker-"+img) {
		t.Errorf("the bind over /data -> /etc must land on the container's /etc: %s", r)
	}
	if isMountPoint(t, "/etc") || hostDirState(t, "/etc") != hostEtc {
		t.Errorf("the host's /etc changed")
	}
	// A new volume over /data copies the container's /etc, not the host's.
	vol := uniqueName("escvol")
	rmVolume(t, vol)
	mustRun(t, "run", "--rm", "-v", vol+":/data", img, "true")
	mp := strings.TrimSpace(mustRun(t, "volume", "inspect", "-f", "{{.Mountpoint}}", vol).Stdout)
	if _, err := os.Stat(filepath.Join(mp, "debian_version")); err == nil {
		t.Errorf("copy-up through /data -> /etc copied the host's /etc into %s", mp)
	}
	if _, err := os.Stat(filepath.Join(mp, "passwd")); err != nil {
		t.Errorf("copy-up through /data -> /etc: want the image's /etc/passwd: %v", err)
	}
}

func TestVolumeEscapeRelativeSymlink(t *testing.T) {
	target := filepath.Join(tmpBase, "escape-"+randomHex(4))
	rel := "../../../../../../../../.." + target
	img := "escrel-" + randomHex(3)
	imageWithEntries(t, img, []*tar.Header{symlink("data", rel), symlink("tdir", rel+"-tmpfs")})
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "f"), "inside")
	r := mustRun(t, "run", "--rm", "-v", dir+":/data", "--tmpfs", "/tdir", img, "sh", "-c", "cat /data/f; grep -c tmpfs /proc/mounts")
	if !strings.Contains(r.Stdout, "inside") {
		t.Errorf("bind over /data -> %s: %s", rel, r)
	}
	for _, p := range []string{target, target + "-tmpfs"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("a mount through a ../ symlink created %s on the host", p)
		}
		if isMountPoint(t, p) {
			t.Errorf("a mount landed on the host at %s", p)
		}
	}
}

func TestCpEscapeSymlink(t *testing.T) {
	target := filepath.Join(tmpBase, "cpescape-"+randomHex(4))
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	img := "cpesc-" + randomHex(3)
	inRoot := strings.TrimPrefix(target, "/")
	imageWithEntries(t, img, []*tar.Header{
		{Name: filepath.Dir(inRoot) + "/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: inRoot + "/", Typeflag: tar.TypeDir, Mode: 0o755},
		symlink("out", "../../../../../../.."+target), symlink("abs", target),
	})
	name := uniqueName("cpesc")
	mustRun(t, "create", "--name", name, img, "true")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	src := filepath.Join(t.TempDir(), "payload")
	writeHostFile(t, src, "payload")
	mustRun(t, "cp", src, name+":/out/")
	mustRun(t, "cp", src, name+":/abs/p2")
	if got := hostDirState(t, target); got != "" {
		t.Errorf("cp into the container wrote on the host through a symlink: %s holds %q", target, got)
	}
	r := mustRun(t, "cp", name+":"+target+"/.", "-")
	if !strings.Contains(r.Stdout, "payload") || !strings.Contains(r.Stdout, "p2") {
		t.Errorf("the copies must be inside the container, at %s: %q", target, r.Stdout)
	}
	// A tar stream with a ../ name is refused.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "../../../../../../.." + target + "/evil", Typeflag: tar.TypeReg, Mode: 0o644})
	_ = tw.Close()
	if r := cocinWithStdin(t, buf.String(), "cp", "-", name+":/"); r.Code == 0 {
		t.Errorf("a tar stream with ../ names was accepted: %s", r)
	}
	if got := hostDirState(t, target); got != "" {
		t.Errorf("cp - wrote on the host: %s holds %q", target, got)
	}
}

func TestCpFilesDirsAndStreams(t *testing.T) {
	name := uniqueName("cp")
	mustRun(t, "run", "-d", "--name", name, "busybox", "sleep", "30")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	dir := t.TempDir()
	writeHostFile(t, filepath.Join(dir, "tree", "sub", "f"), "deep")
	mustRun(t, "cp", filepath.Join(dir, "tree"), name+":/copied")
	mustRun(t, "cp", name+":/copied/sub/f", filepath.Join(dir, "running"))
	if b, _ := os.ReadFile(filepath.Join(dir, "running")); string(b) != "deep" {
		t.Errorf("cp dir into and file out of a running container: got %q", b)
	}
	mustRun(t, "stop", "-t", "0", name)
	out := filepath.Join(dir, "back")
	mustRun(t, "cp", name+":/copied", out)
	if b, _ := os.ReadFile(filepath.Join(out, "sub", "f")); string(b) != "deep" {
		t.Errorf("cp dir out of a stopped container: got %q", b)
	}
	r := mustRun(t, "cp", name+":/etc/passwd", "-")
	tr := tar.NewReader(strings.NewReader(r.Stdout))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "passwd" {
		t.Errorf("cp CTR:/etc/passwd - must stream a tar with passwd: %v %v", hdr, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "streamed", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	_, _ = tw.Write([]byte("abc"))
	_ = tw.Close()
	if r := cocinWithStdin(t, buf.String(), "cp", "-", name+":/tmp"); r.Code != 0 {
		t.Errorf("cp - CTR:/tmp: %s", r)
	}
	mustRun(t, "cp", name+":/tmp/streamed", filepath.Join(dir, "s"))
	if b, _ := os.ReadFile(filepath.Join(dir, "s")); string(b) != "abc" {
		t.Errorf("cp of the streamed file: got %q", b)
	}
	if isMountPoint(t, filepath.Join(defaultEnv.Root, "containers")) {
		t.Errorf("unexpected mount")
	}
	expectClientError(t, cocin(t, "cp", name+":/no/such/file", dir))
}

func TestDiff(t *testing.T) {
	name := uniqueName("diff")
	mustRun(t, "run", "--name", name, "busybox", "sh", "-c", "echo x >> /etc/passwd; rm /etc/group; mkdir /added; touch /added/f")
	t.Cleanup(func() { cocin(t, "rm", name) })
	r := mustRun(t, "diff", name)
	for _, want := range []string{"C /etc\n", "C /etc/passwd\n", "D /etc/group\n", "A /added\n", "A /added/f\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("diff: want %q: %s", want, r)
		}
	}
	if strings.Contains(r.Stdout, "/etc/hostname") || strings.Contains(r.Stdout, "/proc") {
		t.Errorf("diff lists cocin's own mount points: %s", r)
	}
}

// cp never writes where the container cannot: a read-only bind mount (its
// host directory stays unchanged) or a --read-only root is refused, as
// with Docker; a writable mount of that container still takes the file.
func TestCpReadOnlyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ro, rw := filepath.Join(dir, "ro"), filepath.Join(dir, "rw")
	writeHostFile(t, filepath.Join(dir, "f"), "x")
	for _, d := range []string{ro, rw} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	name := uniqueName("cpro")
	mustRun(t, "run", "-d", "--name", name, "--read-only", "-v", ro+":/ro:ro", "-v", rw+":/rw", "busybox", "sleep", "60")
	t.Cleanup(func() { cocin(t, "rm", "-f", name) })
	f := filepath.Join(dir, "f")
	if r := cocin(t, "cp", f, name+":/ro/"); r.Code == 0 || !strings.Contains(r.Stderr, "read-only") {
		t.Errorf("cp into a read-only bind mount: %s", r)
	}
	if ents, _ := os.ReadDir(ro); len(ents) != 0 {
		t.Errorf("cp wrote into the read-only bind mount's host directory: %v", ents)
	}
	if r := cocin(t, "cp", f, name+":/"); r.Code == 0 || !strings.Contains(r.Stderr, "rootfs is marked read-only") {
		t.Errorf("cp into a --read-only root: %s", r)
	}
	mustRun(t, "cp", f, name+":/rw/")
	if _, err := os.Stat(filepath.Join(rw, "f")); err != nil {
		t.Errorf("cp into a writable bind mount: %v", err)
	}
}
