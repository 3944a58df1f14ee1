// Package specgen turns what the user asked for (run flags) and what the
// image says (its config) into an OCI runtime-spec configuration with
// Docker's defaults: capabilities, mounts, masked paths, devices.
package specgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Options are the run flags that shape the spec.
type Options struct {
	Cmd        []string
	Entrypoint *string // nil: the image's; "": none
	Env        []string
	EnvFiles   []string
	Workdir    string
	Hostname   string
	User       string
	Tty        bool
	// CgroupsPath is "parent/id".
	CgroupsPath string
	// Mounts are extra mounts (per-container /etc files, volumes).
	Mounts []specs.Mount
	// Storage is -v, --mount, --tmpfs, --volumes-from and --read-only.
	Storage Storage

	// Resources are the resource limit flags (resources.go).
	Resources Limits
	// Network is --network's effect on the spec.
	Network NetworkOptions
	// Security is capabilities, seccomp, devices, rlimits, sysctls.
	Security Security
}

// DefaultPath is the PATH of a container whose image sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities is Docker's default capability set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// MaskedPaths and ReadonlyPaths are Docker's defaults.
var (
	MaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	ReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// Command returns the process argv: entrypoint + cmd, Docker's rules (a
// --entrypoint override drops the image's CMD unless one is given).
func Command(img *ocispec.ImageConfig, o *Options) ([]string, error) {
	entry := img.Entrypoint
	cmd := img.Cmd
	if o.Entrypoint != nil {
		entry = nil
		if *o.Entrypoint != "" {
			entry = []string{*o.Entrypoint}
		}
		cmd = nil
	}
	if len(o.Cmd) > 0 {
		cmd = o.Cmd
	}
	args := append(append([]string{}, entry...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified")
	}
	return args, nil
}

// Env merges the environment: PATH default, the image's, HOSTNAME, TERM
// for a terminal, HOME from the user, then --env-file and -e in order.
func Env(img *ocispec.ImageConfig, o *Options, hostname string, u *User) ([]string, error) {
	env := newEnvList()
	env.set("PATH=" + DefaultPath)
	env.set("HOSTNAME=" + hostname)
	for _, e := range img.Env {
		env.set(e)
	}
	if o.Tty {
		env.set("TERM=xterm")
	}
	for _, f := range o.EnvFiles {
		vars, err := ReadEnvFile(f)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			env.set(v)
		}
	}
	for _, e := range o.Env {
		v, ok, err := ParseEnv(e)
		if err != nil {
			return nil, err
		}
		if ok {
			env.set(v)
		}
	}
	if !env.has("HOME") {
		env.set("HOME=" + u.Home)
	}
	return env.list(), nil
}

// ParseEnv checks one -e value. "K=V" is taken as is; "K" takes the host's
// value and is dropped (ok false) when the host has none, as in Docker.
func ParseEnv(e string) (string, bool, error) {
	k, _, hasValue := strings.Cut(e, "=")
	if k == "" || strings.ContainsAny(k, " \t\n") {
		return "", false, fmt.Errorf("invalid environment variable: %q", e)
	}
	if hasValue {
		return e, true, nil
	}
	if v, ok := os.LookupEnv(k); ok {
		return k + "=" + v, true, nil
	}
	return "", false, nil
}

// ReadEnvFile reads a Docker env file: one K=V or K per line, # comments.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open env file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, ok, err := ParseEnv(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, sc.Err()
}

type envList struct {
	keys []string
	vals map[string]string
}

func newEnvList() *envList { return &envList{vals: map[string]string{}} }

func (e *envList) set(kv string) {
	k, v, _ := strings.Cut(kv, "=")
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) has(k string) bool { _, ok := e.vals[k]; return ok }

func (e *envList) list() []string {
	out := make([]string, len(e.keys))
	for i, k := range e.keys {
		out[i] = k + "=" + e.vals[k]
	}
	return out
}

// Generate builds the spec. rootfs is the container's mounted root, where
// the user is looked up.
func Generate(img *ocispec.ImageConfig, o *Options, rootfs, hostname string) (*specs.Spec, error) {
	args, err := Command(img, o)
	if err != nil {
		return nil, err
	}
	userSpec := o.User
	if userSpec == "" {
		userSpec = img.User
	}
	u, err := ResolveUser(rootfs, userSpec)
	if err != nil {
		return nil, err
	}
	env, err := Env(img, o, hostname, u)
	if err != nil {
		return nil, err
	}
	cwd := o.Workdir
	if cwd == "" {
		cwd = img.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", cwd)
	}
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: rootfs},
		Hostname: hostname,
		Process: &specs.Process{
			Terminal:     o.Tty,
			Args:         args,
			Env:          env,
			Cwd:          filepath.Clean(cwd),
			User:         specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.Groups},
			Capabilities: capabilities(u.UID),
		},
		Mounts: append(defaultMounts(), o.Mounts...),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			MaskedPaths:   MaskedPaths,
			ReadonlyPaths: ReadonlyPaths,
			CgroupsPath:   o.CgroupsPath,
			Resources:     &specs.LinuxResources{Devices: defaultDeviceRules()},
		},
	}
	applyStorage(s, &o.Storage, len(o.Mounts))

	if err := ApplyLimits(s, &o.Resources); err != nil {
		return nil, err
	}
	applyNetwork(s, o.Network)
	if err := applySecurity(s, &o.Security); err != nil {
		return nil, err
	}
	defaultNetSysctls(s)
	return s, nil
}

// capabilities gives root Docker's default set; another user keeps it only
// in the bounding set (what file capabilities and setuid binaries may
// reach), as Docker does.
func capabilities(uid uint32) *specs.LinuxCapabilities {
	c := &specs.LinuxCapabilities{Bounding: DefaultCapabilities}
	if uid == 0 {
		c.Effective, c.Permitted = DefaultCapabilities, DefaultCapabilities
	}
	return c
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	}
}

func ptr[T any](v T) *T { return &v }

// defaultDeviceRules is the device cgroup: deny all, then allow the default
// nodes, /dev/pts, mknod of any node (creating is not opening) and the
// devices Docker allows.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rule := func(t string, maj, min int64, acc string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: t, Access: acc}
		if maj >= 0 {
			r.Major = ptr(maj)
		}
		if min >= 0 {
			r.Minor = ptr(min)
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		rule("c", -1, -1, "m"), rule("b", -1, -1, "m"),
		rule("c", 1, 3, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 7, "rwm"),
		rule("c", 1, 8, "rwm"), rule("c", 1, 9, "rwm"), rule("c", 5, 0, "rwm"),
		rule("c", 5, 1, "rwm"), rule("c", 5, 2, "rwm"), rule("c", 136, -1, "rwm"),
		rule("c", 10, 200, "rwm"),
	}
}
