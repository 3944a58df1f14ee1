package image

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// RemoteOptions tune Pull and Push.
type RemoteOptions struct {
	Progress Progress
	// Keychain supplies credentials; nil means ~/.docker/config.json
	// (and credential helpers), as docker and podman read it.
	Keychain authn.Keychain
	// Transport replaces the HTTP transport (tests); nil is the default.
	Transport http.RoundTripper
}

// Platform is the platform chosen from a multi-platform index.
func Platform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// RemoteRef turns a user's image name into a registry reference:
// docker.io/library/ for short names, ":latest" when no tag is given.
func RemoteRef(ref string) (name.Reference, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	n, err := name.ParseReference(r.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRef, err)
	}
	return n, nil
}

func (o RemoteOptions) remote(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(Platform())}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return opts
}

// Pull fetches ref's image for this platform and stores it under ref.
// Blobs the store has already are not fetched again. The digest ref
// points to in the registry (a multi-platform index's own, not its
// entry's) is returned and becomes the image's repo digest, as with
// Docker.
func (s *Store) Pull(ctx context.Context, ref string, o RemoteOptions) (*Image, digest.Digest, error) {
	n, err := RemoteRef(ref)
	if err != nil {
		return nil, "", err
	}
	desc, err := remote.Get(n, o.remote(ctx)...)
	if err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := desc.Image() // this platform's entry of an index
	if err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	d := digest.Digest(desc.Digest.String())
	got, err := s.AddImage(ctx, img, ImportOptions{Tags: []string{ref}, Progress: o.Progress, RepoDigest: d})
	if err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	return got, d, nil
}

// Push uploads the image src names to ref (src itself when ref is "").
// It returns the manifest digest the registry now serves. Progress gets
// one event per layer, keyed by its diff ID as in Docker's output: "Layer
// already exists" for a blob the repository had, "Pushed" once the push
// is done for the others.
func (s *Store) Push(ctx context.Context, src, ref string, o RemoteOptions) (v1.Hash, error) {
	if ref == "" {
		ref = src
	}
	img, err := s.Get(src)
	if err != nil {
		return v1.Hash{}, err
	}
	n, err := RemoteRef(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	vi, err := s.V1Image(img)
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := vi.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	had := o.existingBlobs(ctx, n.Context(), layers)
	for i, l := range layers {
		if had[i] {
			o.Progress.send(ProgressEvent{Digest: layerDiffID(l), Status: "Layer already exists"})
		}
	}
	if err := remote.Write(n, vi, o.remote(ctx)...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	for i, l := range layers {
		if !had[i] {
			o.Progress.send(ProgressEvent{Digest: layerDiffID(l), Status: "Pushed"})
		}
	}
	d, err := vi.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	// Now the repository serves the image: it has a repo digest there.
	return d, s.AddRepoDigest(img.ID.String(), ref, digest.Digest(d.String()))
}

func layerDiffID(l v1.Layer) digest.Digest {
	h, _ := l.DiffID()
	return digest.Digest(h.String())
}
