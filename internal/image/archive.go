package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Archive formats of save and load, by podman's names.
const (
	FormatDocker = "docker-archive" // docker save's manifest.json tarball
	FormatOCI    = "oci-archive"    // an OCI image layout in a tarball
)

// Save writes the images names designate to w as one archive. Names that
// are tags keep their tag in the archive; IDs are saved untagged.
func (s *Store) Save(ctx context.Context, w io.Writer, names []string, format string) error {
	switch format {
	case FormatDocker, "docker", "":
		return s.saveDocker(w, names)
	case FormatOCI, "oci":
		return s.saveOCI(w, names)
	}
	return fmt.Errorf("unknown format %q: use %s or %s", format, FormatDocker, FormatOCI)
}

// saveEntry is one image to save and the tag it goes under, if any.
type saveEntry struct {
	img   v1.Image
	tag   string // full reference, "" when saved by ID
	image *Image
}

func (s *Store) saveEntries(names []string) ([]saveEntry, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []saveEntry
	for _, n := range names {
		id, ref, err := idx.resolve(n)
		if err != nil {
			return nil, err
		}
		img, err := s.load(idx, id)
		if err != nil {
			return nil, err
		}
		vi, err := s.V1Image(img)
		if err != nil {
			return nil, err
		}
		out = append(out, saveEntry{img: vi, tag: ref, image: img})
	}
	return out, nil
}

func (s *Store) saveDocker(w io.Writer, names []string) error {
	entries, err := s.saveEntries(names)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, e := range entries {
		var r name.Reference
		if e.tag != "" {
			r, err = name.NewTag(e.tag)
		} else {
			// An untagged image still needs a key; a digest reference
			// adds no RepoTags to manifest.json.
			r, err = name.NewDigest("untagged@" + e.image.Manifest.String())
		}
		if err != nil {
			return err
		}
		refs[r] = e.img
	}
	return tarball.MultiRefWrite(refs, w)
}

func (s *Store) saveOCI(w io.Writer, names []string) error {
	entries, err := s.saveEntries(names)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(s.root, ".save-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, e := range entries {
		var opts []layout.Option
		if e.tag != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{
				ocispec.AnnotationRefName:  e.tag[strings.LastIndex(e.tag, ":")+1:],
				"io.containerd.image.name": e.tag,
			}))
		}
		if err := p.AppendImage(e.img, opts...); err != nil {
			return err
		}
	}
	return tarDir(w, dir)
}

// tarDir writes the regular files and directories under dir as a tar.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Loaded is one image Load stored.
type Loaded struct {
	Image *Image
	Tags  []string // short forms
}

// Load stores every image of a docker-archive or OCI-archive tarball
// (the content decides). r is spooled to a temporary file first when it
// is not one: both formats need random access.
func (s *Store) Load(ctx context.Context, r io.Reader, progress Progress) ([]Loaded, error) {
	path, cleanup, err := s.spool(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer cleanup()
	names, err := tarNames(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	switch {
	case names["manifest.json"]:
		return s.loadDocker(ctx, path, progress)
	case names["oci-layout"] && names["index.json"]:
		return s.loadOCI(ctx, path, progress)
	}
	return nil, errors.New("load: not an image archive: it has neither manifest.json (docker-archive) nor oci-layout (OCI)")
}

// spool returns a path to r's content: r's own file when it is a
// regular file, a temporary copy otherwise (a pipe).
func (s *Store) spool(r io.Reader) (string, func(), error) {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f.Name(), func() {}, nil
		}
	}
	f, err := os.CreateTemp(s.root, ".load-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		cleanup()
		return "", nil, err
	}
	return f.Name(), cleanup, nil
}

// tarNames lists the top-level names of a tarball.
func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		out[strings.TrimPrefix(hdr.Name, "./")] = true
	}
}

func (s *Store) loadDocker(ctx context.Context, path string, progress Progress) ([]Loaded, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("load: manifest.json: %w", err)
	}
	var out []Loaded
	for _, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return out, fmt.Errorf("load: %w", err)
			}
			tag = &t
		} else if len(m) > 1 {
			return out, errors.New("load: an archive of several images holds an untagged one, which cannot be picked out")
		}
		vi, err := tarball.Image(opener, tag)
		if err != nil {
			return out, fmt.Errorf("load: %w", err)
		}
		img, err := s.AddImage(ctx, vi, ImportOptions{Tags: d.RepoTags, Uncompressed: true, Progress: progress})
		if err != nil {
			return out, fmt.Errorf("load: %w", err)
		}
		out = append(out, Loaded{Image: img, Tags: familiarAll(d.RepoTags)})
	}
	return out, nil
}

func familiarAll(refs []string) []string {
	var out []string
	for _, r := range refs {
		if n, err := NormalizeRef(r); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *Store) loadOCI(ctx context.Context, path string, progress Progress) ([]Loaded, error) {
	dir, err := os.MkdirTemp(s.root, ".load-oci-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := untarLayout(path, dir); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var out []Loaded
	for _, d := range im.Manifests {
		vi, err := imageFor(ii, d)
		if err != nil {
			return out, fmt.Errorf("load: %w", err)
		}
		tags := ociTags(d.Annotations)
		img, err := s.AddImage(ctx, vi, ImportOptions{Tags: tags, Progress: progress})
		if err != nil {
			return out, fmt.Errorf("load: %w", err)
		}
		out = append(out, Loaded{Image: img, Tags: familiarAll(tags)})
	}
	return out, nil
}

// imageFor returns the image a layout index entry names, choosing this
// platform's image when the entry is itself an index.
func imageFor(ii v1.ImageIndex, d v1.Descriptor) (v1.Image, error) {
	if !d.MediaType.IsIndex() {
		return ii.Image(d.Digest)
	}
	child, err := ii.ImageIndex(d.Digest)
	if err != nil {
		return nil, err
	}
	cm, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	want := Platform()
	for _, c := range cm.Manifests {
		if c.Platform != nil && c.Platform.Satisfies(want) {
			return child.Image(c.Digest)
		}
	}
	return nil, fmt.Errorf("index %s has no image for %s/%s", d.Digest, want.OS, want.Architecture)
}

// ociTags reads an image's name from its layout annotations: containerd's
// full name, or the OCI ref name when it is a full reference (podman
// writes one; a bare tag such as "latest" names no repository).
func ociTags(ann map[string]string) []string {
	for _, k := range []string{"io.containerd.image.name", ocispec.AnnotationRefName} {
		if v := ann[k]; strings.ContainsAny(v, "/:") {
			if _, err := parseRef(v); err == nil {
				return []string{v}
			}
		}
	}
	return nil
}

// untarLayout unpacks an OCI layout tarball. Only the layout's own files
// are taken (oci-layout, index.json, blobs/<alg>/<hex>), so a crafted
// archive cannot write anywhere else.
func untarLayout(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := strings.TrimPrefix(hdr.Name, "./")
		if hdr.Typeflag != tar.TypeReg || !layoutFile(n) {
			continue
		}
		if err := copyOut(filepath.Join(dir, filepath.FromSlash(n)), tr); err != nil {
			return err
		}
	}
}

func layoutFile(n string) bool {
	if n == "oci-layout" || n == "index.json" {
		return true
	}
	parts := strings.Split(n, "/")
	return len(parts) == 3 && parts[0] == "blobs" && digest.Algorithm(parts[1]).Available() &&
		digest.Algorithm(parts[1]).Validate(parts[2]) == nil
}

func copyOut(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
