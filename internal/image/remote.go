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
// Blobs the store has already are not fetched again.
func (s *Store) Pull(ctx context.Context, ref string, o RemoteOptions) (*Image, error) {
	n, err := RemoteRef(ref)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(n, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	got, err := s.AddImage(ctx, img, ImportOptions{Tags: []string{ref}, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return got, nil
}

// Push uploads the image src names to ref (src itself when ref is "").
// It returns the manifest digest the registry now serves.
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
	opts := o.remote(ctx)
	if o.Progress != nil {
		ch := make(chan v1.Update, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for u := range ch {
				o.Progress(ProgressEvent{Digest: img.Manifest, Total: u.Total, Current: u.Complete, Status: "Pushing"})
			}
		}()
		defer func() { <-done }()
		opts = append(opts, remote.WithProgress(ch))
	}
	if err := remote.Write(n, vi, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return vi.Digest()
}
