package image

import (
	"context"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// existingBlobs tells which layers' blobs repo has already, only to
// report them as Docker does: remote.Write skips them by itself but does
// not say so. A check that fails counts as "not there"; the push itself
// decides what to upload.
func (o RemoteOptions) existingBlobs(ctx context.Context, repo name.Repository, layers []v1.Layer) []bool {
	had := make([]bool, len(layers))
	if o.Progress == nil {
		return had
	}
	client, err := o.registryClient(ctx, repo)
	if err != nil {
		return had
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err == nil {
			had[i] = blobExists(ctx, client, repo, d)
		}
	}
	return had
}

// registryClient is an HTTP client authenticated for pushes to repo.
func (o RemoteOptions) registryClient(ctx context.Context, repo name.Repository) (*http.Client, error) {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	auth, err := kc.Resolve(repo)
	if err != nil {
		return nil, err
	}
	rt := o.Transport
	if rt == nil {
		rt = remote.DefaultTransport
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: tr}, nil
}

// blobExists asks the registry with HEAD /v2/REPO/blobs/DIGEST.
func blobExists(ctx context.Context, client *http.Client, repo name.Repository, d v1.Hash) bool {
	u := repo.Scheme() + "://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/blobs/" + d.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
