package image

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Users names containers that use an image, for rmi's conflict rules:
// the short ID of one running and of one stopped container, "" for none.
type Users struct{ Running, Stopped string }

func (u Users) any() bool { return u.Running != "" || u.Stopped != "" }

// Remove is `rmi` with Docker's rules. By tag it untags, and deletes the
// image once no tag is left. By ID it removes all tags and the image,
// but needs force when the tags span several repositories. An image a
// container uses (users; nil: none) is never deleted: its last tag goes
// only with force, and the image stays, dangling, while a container
// needs its layers and config (Docker keeps the layers too). By ID a
// stopped container's image is untagged with force only, and a running
// container's is refused even with force, as in Docker. Deleting an
// image frees its blobs and the layers no other image shares.
// deleted lists the image ID first, then the chain IDs of freed layers.
// Errors wrap ErrNotFound, ErrAmbiguous, ErrInvalidRef or ErrConflict.
func (s *Store) Remove(refOrID string, force bool, users func(imageID digest.Digest) Users) (untagged []string, deleted []digest.Digest, err error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	id, ref, err := idx.resolve(refOrID)
	if err != nil {
		return nil, nil, err
	}
	var u Users
	if users != nil {
		u = users(id)
	}
	tags := idx.tagsOf(id)
	if err := checkRemove(id, ref, tags, u, force); err != nil {
		return nil, nil, err
	}
	if ref != "" && (len(tags) > 1 || u.any()) {
		delete(idx.Tags, ref)
		untagged = append([]string{familiar(ref)}, idx.dropUntaggedDigests(id, []string{ref})...)
		return untagged, nil, s.writeIndex(idx)
	}
	for _, t := range tags {
		delete(idx.Tags, t)
		untagged = append(untagged, familiar(t))
	}
	untagged = append(untagged, idx.dropUntaggedDigests(id, tags)...)
	if u.any() {
		return untagged, nil, s.writeIndex(idx)
	}
	rec := idx.Images[id]
	delete(idx.Images, id)
	if err := s.writeIndex(idx); err != nil {
		return nil, nil, err
	}
	// The image is gone; what follows only frees space, and whatever
	// fails here is unreferenced garbage, not a broken image.
	freed, ferr := s.free(idx, id, rec)
	return untagged, append([]digest.Digest{id}, freed...), ferr
}

// checkRemove applies Docker's conflict rules.
func checkRemove(id digest.Digest, ref string, tags []string, u Users, force bool) error {
	short := id.Encoded()[:12]
	if ref != "" {
		if !force && u.any() && len(tags) == 1 {
			return fmt.Errorf("%w: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
				ErrConflict, familiar(ref), cmp.Or(u.Running, u.Stopped), short)
		}
		return nil
	}
	if !force && !singleRepo(tags) {
		return fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in multiple repositories", ErrConflict, short)
	}
	if u.Running != "" {
		return fmt.Errorf("%w: unable to delete %s (cannot be forced) - image is being used by running container %s", ErrConflict, short, u.Running)
	}
	if !force && u.Stopped != "" {
		return fmt.Errorf("%w: unable to delete %s (must be forced) - image is being used by stopped container %s", ErrConflict, short, u.Stopped)
	}
	return nil
}

// singleRepo reports whether all tags are in one repository.
func singleRepo(tags []string) bool {
	for _, t := range tags {
		if repoOf(t) != repoOf(tags[0]) {
			return false
		}
	}
	return true
}

func repoOf(full string) string { return full[:strings.LastIndex(full, ":")] }

// free deletes the removed image's config and manifest, its layer blobs
// and its layers that no remaining image uses.
func (s *Store) free(idx *index, id digest.Digest, rec *record) ([]digest.Digest, error) {
	blobsInUse, chainsInUse := map[digest.Digest]bool{}, map[digest.Digest]bool{}
	for _, r := range idx.Images {
		for _, b := range r.Layers {
			blobsInUse[b] = true
		}
		for _, c := range r.ChainIDs {
			chainsInUse[c] = true
		}
	}
	var errs []error
	rm := func(d digest.Digest) {
		if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	rm(id)
	rm(rec.Manifest)
	for _, b := range rec.Layers {
		if !blobsInUse[b] {
			rm(b)
		}
	}
	var freed []digest.Digest
	for i := len(rec.ChainIDs) - 1; i >= 0; i-- {
		c := rec.ChainIDs[i]
		if chainsInUse[c] {
			continue
		}
		if err := s.layers.Remove(c); err != nil {
			errs = append(errs, err)
			continue
		}
		freed = append(freed, c)
	}
	if err := errors.Join(errs...); err != nil {
		return freed, fmt.Errorf("free image %s: %w", id.Encoded()[:12], err)
	}
	return freed, nil
}

// GCLayers removes unpacked layers that no image uses and keep does not
// claim (keep: the chain IDs of containers' lowerdirs, e.g. of images
// that older versions removed by force while in use), and stale
// temporary layer dirs.
func (s *Store) GCLayers(keep func(chainID digest.Digest) bool) ([]digest.Digest, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	used := map[digest.Digest]bool{}
	for _, r := range idx.Images {
		for _, c := range r.ChainIDs {
			used[c] = true
		}
	}
	return s.layers.Prune(func(c digest.Digest) bool { return used[c] || (keep != nil && keep(c)) })
}
