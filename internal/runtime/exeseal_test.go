package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cocin-dev/cocin/internal/state"
	"golang.org/x/sys/unix"
)

// TestInitBinaryIsSealed is CVE-2019-5736: while the init is still the
// cocin binary (between create and start) a process that gets hold of
// /proc/PID/exe, and keeps it until the init is gone, must not be able to
// reopen it for writing: it is a read-only copy, not the host's binary.
func TestInitBinaryIsSealed(t *testing.T) {
	root := busyboxRoot(t)
	rt := &Runtime{Root: t.TempDir(), DefaultCgroupParent: testCgroupParent}
	id := state.NewID()[:16]
	c, err := rt.Create(context.Background(), CreateOpts{ID: id, Spec: testSpec(root, "true")})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Delete(id, true)
	exe := fmt.Sprintf("/proc/%d/exe", c.Pid)
	if _, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil {
		t.Fatal("opened the init's binary for writing")
	}
	fd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	c.killInit()
	_, err = os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_WRONLY, 0)
	if err == nil {
		t.Fatal("reopened the dead init's binary for writing: the host binary is not sealed")
	}
	if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		t.Fatalf("unexpected error %v (want a read-only file)", err)
	}
	// The host's binary itself is untouched and writable by root.
	self, _ := os.Executable()
	if f, err := os.OpenFile(self, os.O_WRONLY, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, unix.ETXTBSY) {
		t.Fatalf("host binary: %v", err)
	}
}
