package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bpf(2) attribute layouts below are the prefixes of union bpf_attr
// that each command reads (linux/bpf.h); unused tail fields stay zero.

type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

type progAttachAttr struct {
	targetFD     uint32
	attachBPFFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBPFFD uint32
}

type progQueryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCnt     uint32
	_           uint32
}

type getFDByIDAttr struct {
	id        uint32
	nextID    uint32
	openFlags uint32
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// attachDeviceFilter loads prog and attaches it to the cgroup at dir,
// replacing the filters cocin attached before. It attaches with
// BPF_F_ALLOW_MULTI, as runc does, so that a nested engine can add its own
// filter below but never widen ours; the new filter goes in before the old
// ones come out, so there is no moment without one.
func attachDeviceFilter(dir string, prog []bpfInsn) error {
	progFD, err := loadDeviceProg(prog)
	if err != nil {
		return err
	}
	defer unix.Close(progFD)
	dirFD, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dirFD)
	old, err := attachedDeviceProgs(dirFD)
	if err != nil {
		return err
	}
	attr := progAttachAttr{targetFD: uint32(dirFD), attachBPFFD: uint32(progFD),
		attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("attach eBPF device program: %w", err)
	}
	for _, id := range old {
		if err := detachProg(dirFD, id); err != nil {
			return err
		}
	}
	return nil
}

// loadDeviceProg loads the program; if the verifier refuses it, it loads
// again with a log so the error says why.
func loadDeviceProg(prog []bpfInsn) (int, error) {
	fd, err := loadProg(prog, nil)
	if err == nil {
		return fd, nil
	}
	log := make([]byte, 64<<10)
	if _, err2 := loadProg(prog, log); err2 != nil {
		if msg := strings.TrimSpace(string(bytes.TrimRight(log, "\x00"))); msg != "" {
			return -1, fmt.Errorf("load eBPF device program: %w: verifier: %s", err2, lastLines(msg, 3))
		}
	}
	return -1, fmt.Errorf("load eBPF device program: %w", err)
}

func loadProg(prog []bpfInsn, log []byte) (int, error) {
	license := []byte("Apache\x00")
	attr := progLoadAttr{
		progType:           unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:            uint32(len(prog)),
		insns:              uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:            uint64(uintptr(unsafe.Pointer(&license[0]))),
		expectedAttachType: unix.BPF_CGROUP_DEVICE,
	}
	copy(attr.progName[:], "cocin_devices")
	if len(log) > 0 {
		attr.logLevel, attr.logSize = 1, uint32(len(log))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
	}
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	return fd, err
}

// attachedDeviceProgs lists the ids of the device programs on a cgroup.
func attachedDeviceProgs(dirFD int) ([]uint32, error) {
	ids := make([]uint32, 64)
	attr := progQueryAttr{targetFD: uint32(dirFD), attachType: unix.BPF_CGROUP_DEVICE,
		progIDs: uint64(uintptr(unsafe.Pointer(&ids[0]))), progCnt: uint32(len(ids))}
	_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if err != nil {
		return nil, fmt.Errorf("query eBPF device programs: %w", err)
	}
	return ids[:attr.progCnt], nil
}

func detachProg(dirFD int, id uint32) error {
	get := getFDByIDAttr{id: id}
	progFD, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&get), unsafe.Sizeof(get))
	if errors.Is(err, unix.ENOENT) {
		return nil // already gone
	}
	if err != nil {
		return fmt.Errorf("open eBPF program %d: %w", id, err)
	}
	defer unix.Close(progFD)
	attr := progAttachAttr{targetFD: uint32(dirFD), attachBPFFD: uint32(progFD), attachType: unix.BPF_CGROUP_DEVICE}
	if _, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("detach old eBPF device program %d: %w", id, err)
	}
	return nil
}

// lastLines keeps the end of the verifier's log, where the reason is.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
