package state

import (
	"golang.org/x/sys/unix"
)

// Watch tells when a container's record may have changed: an inotify
// watch on its directory, where records are renamed into place. Waiting
// on it, rather than re-reading the record on a timer, lets stop, kill
// and wait return the moment the monitor records the exit.
type Watch struct{ fd int }

// Watch starts watching container id's record. Open it before reading
// the record, so that no change between the read and the wait is missed.
func (s *Store) Watch(id string) (*Watch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	mask := uint32(unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF)
	if _, err := unix.InotifyAddWatch(fd, s.Dir(id), mask); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Watch{fd: fd}, nil
}

// Fd is the descriptor to poll for readability.
func (w *Watch) Fd() int { return w.fd }

// Drain consumes the pending events, so that the next poll waits for a
// new change.
func (w *Watch) Drain() {
	var buf [4096]byte
	for {
		if n, err := unix.Read(w.fd, buf[:]); n <= 0 || err != nil {
			return
		}
	}
}

// Close stops watching.
func (w *Watch) Close() { unix.Close(w.fd) }
