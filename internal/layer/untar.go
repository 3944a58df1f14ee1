package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ExtractTar unpacks a plain tar stream (not a layer: no whiteouts, no
// devices) below the directory handle dir, with the same
// guarantees as layer extraction: every entry is created relative to a
// parent handle resolved inside dir, so neither the stream's names nor
// symlinks already below dir can make it write elsewhere. It serves
// `cp` and the copy of image content into new volumes.
func ExtractTar(dir *os.File, r io.Reader) error {
	// Our own handle (closed with the extractor) and the directory's real
	// path, which the dangling-symlink case resolves names against.
	root, err := os.OpenFile(procPath(dir, ""), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	rootPath, err := os.Readlink(procPath(dir, ""))
	if err != nil {
		root.Close()
		return err
	}
	x := &extractor{root: root, rootPath: rootPath, plain: true}
	defer x.close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	return x.applyDirTimes()
}
