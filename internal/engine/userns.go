package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/cocin-dev/cocin/internal/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// idMap is a container's --userns-remap mapping, kept in its directory so
// that a restart mounts the rootfs the same way.
type idMap struct {
	UIDs []specs.LinuxIDMapping `json:"uids"`
	GIDs []specs.LinuxIDMapping `json:"gids"`
}

func idMapFile(dir string) string { return filepath.Join(dir, "userns.json") }

// prepareUserns records the mapping and lets the container's root (a host
// id without privileges) traverse to its rootfs and /etc files: the
// container dir becomes root:<mapped root gid> 0710, as Docker's remapped
// root, and the containers dir traversable.
func (e *Engine) prepareUserns(o *RunOptions, dir string) error {
	remap := o.Security.UsernsRemap
	if remap == "" || remap == "host" {
		return nil
	}
	uids, gids, err := specgen.RemapIDs(remap)
	if err != nil {
		return err
	}
	if err := checkSearchable(filepath.Dir(filepath.Dir(dir))); err != nil {
		return err
	}
	b, _ := json.Marshal(idMap{UIDs: uids, GIDs: gids})
	if err := os.WriteFile(idMapFile(dir), b, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		return err
	}
	if err := os.Lchown(dir, 0, int(hostID(gids, 0))); err != nil {
		return err
	}
	return os.Chmod(dir, 0o710)
}

// checkSearchable tells early, with the directory to fix, when the
// container's root could not reach its rootfs: every directory above the
// data root must be searchable by others.
func checkSearchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("userns-remap: %s (mode %04o) is not searchable by the container's remapped root: chmod o+x it", d, fi.Mode().Perm())
		}
		if d == "/" {
			return nil
		}
	}
}

func loadIDMap(dir string) (*idMap, error) {
	b, err := os.ReadFile(idMapFile(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m idMap
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", idMapFile(dir), err)
	}
	return &m, nil
}

// hostID maps a container id to the host's.
func hostID(m []specs.LinuxIDMapping, id uint32) uint32 {
	for _, r := range m {
		if id >= r.ContainerID && id-r.ContainerID < r.Size {
			return r.HostID + id - r.ContainerID
		}
	}
	return 65534
}

// usernsFD returns a handle on a new user namespace with the mapping. A
// process must own it while the maps are written: this binary is started
// traced, so it stops at execve without running anything, and is killed
// once the namespace is open.
func usernsFD(m *idMap) (int, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER, Ptrace: true, Pdeathsig: syscall.SIGKILL,
		UidMappings: sysIDMaps(m.UIDs), GidMappings: sysIDMaps(m.GIDs),
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("start a user namespace: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open user namespace: %w", err)
	}
	return fd, nil
}

func sysIDMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, r := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)}
	}
	return out
}

// hostOwner is the host uid and gid of the spec's user: the ids
// themselves, or their mapping when the container has a user namespace.
func hostOwner(spec *specs.Spec) (int, int) {
	u := spec.Process.User
	if spec.Linux == nil || len(spec.Linux.UIDMappings) == 0 {
		return int(u.UID), int(u.GID)
	}
	return int(hostID(spec.Linux.UIDMappings, u.UID)), int(hostID(spec.Linux.GIDMappings, u.GID))
}
