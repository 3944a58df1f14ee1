package events

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// waiter blocks until the log is written, a deadline passes or a stop
// channel closes, without waking up in between: inotify for the log, an
// eventfd that a goroutine writes when stop closes.
type waiter struct {
	ino, stopfd int
	done        chan struct{}
	wg          sync.WaitGroup
}

func newWaiter(path string, stop <-chan struct{}) (*waiter, error) {
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(ino, path, unix.IN_MODIFY); err != nil {
		unix.Close(ino)
		return nil, err
	}
	w := &waiter{ino: ino, stopfd: -1, done: make(chan struct{})}
	if stop == nil {
		return w, nil
	}
	if w.stopfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		unix.Close(ino)
		return nil, err
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		select {
		case <-stop:
			_, _ = unix.Write(w.stopfd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		case <-w.done:
		}
	}()
	return w, nil
}

// close waits for the stop goroutine before closing its eventfd, so that
// it never writes to a descriptor number reused meanwhile.
func (w *waiter) close() {
	close(w.done)
	w.wg.Wait()
	unix.Close(w.ino)
	if w.stopfd >= 0 {
		unix.Close(w.stopfd)
	}
}

// wait returns when the log may have grown, until has passed (zero: no
// deadline) or stop was closed (stopped).
func (w *waiter) wait(until time.Time) (stopped bool, err error) {
	timeout := -1
	if !until.IsZero() {
		// poll takes a C int; a far deadline just takes several waits.
		timeout = int(min(max(time.Until(until)/time.Millisecond+1, 0), 1<<30))
	}
	fds := []unix.PollFd{{Fd: int32(w.ino), Events: unix.POLLIN}}
	if w.stopfd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(w.stopfd), Events: unix.POLLIN})
	}
	if _, err := unix.Poll(fds, timeout); err != nil && !errors.Is(err, unix.EINTR) {
		return false, err
	}
	if len(fds) > 1 && fds[1].Revents != 0 {
		return true, nil
	}
	if fds[0].Revents != 0 {
		w.drain()
	}
	return false, nil
}

// drain empties the inotify queue: the lines themselves are read from the
// file, the notifications only say there are some.
func (w *waiter) drain() {
	buf := make([]byte, 4096)
	for {
		if n, err := unix.Read(w.ino, buf); n <= 0 || err != nil {
			return
		}
	}
}
