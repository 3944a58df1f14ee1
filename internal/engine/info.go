package engine

import (
	goruntime "runtime"
	"strings"

	"github.com/cocin-dev/cocin/internal/cgroups"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/docker/go-units"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Info is what `cocin info` shows.
type Info struct {
	Containers, Running, Stopped, Images int
	StorageDriver, CgroupVersion         string
	CgroupParent, Root, RunRoot          string
	Kernel, Memory                       string
	CPUs                                 int
}

// Info gathers system-wide information.
func (e *Engine) Info() (*Info, error) {
	i := &Info{
		StorageDriver: StorageDriver, CgroupParent: e.cfg.CgroupParent,
		Root: e.cfg.Root, RunRoot: e.cfg.RunRoot, CPUs: goruntime.NumCPU(),
	}
	ctrs, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	i.Containers = len(ctrs)
	for _, c := range ctrs {
		if c.State.Status == state.Running || c.State.Status == state.Paused {
			i.Running++
		} else {
			i.Stopped++
		}
	}
	imgs, err := e.Images.List()
	if err != nil {
		return nil, err
	}
	i.Images = len(imgs)
	switch v, err := cgroups.Detect(); {
	case err != nil:
		i.CgroupVersion = "unknown (" + err.Error() + ")"
	case v == cgroups.V2:
		i.CgroupVersion = "2"
	default:
		i.CgroupVersion = "1"
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		i.Kernel = strings.TrimRight(string(u.Release[:]), "\x00")
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		i.Memory = units.BytesSize(float64(si.Totalram) * float64(si.Unit))
	}
	return i, nil
}

// RemoveImage is rmi: the store applies Docker's rules to the
// containers that use the image, running or not.
func (e *Engine) RemoveImage(ref string, force bool) ([]string, []digest.Digest, error) {
	ctrs, err := e.Containers.List()
	if err != nil {
		return nil, nil, err
	}
	users := func(id digest.Digest) image.Users {
		var u image.Users
		for _, c := range ctrs {
			switch {
			case c.ImageID != id.String():
			case IsRunning(c) && u.Running == "":
				u.Running = c.ID[:12]
			case !IsRunning(c) && u.Stopped == "":
				u.Stopped = c.ID[:12]
			}
		}
		return u
	}
	return e.Images.Remove(ref, force, users)
}
