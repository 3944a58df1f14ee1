package runtimecli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cocin-dev/cocin/internal/cgroups"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// createFlags are the flags create and run share.
type createFlags struct {
	bundle        string
	pidFile       string
	consoleSocket string
	noPivot       bool
	noNewKeyring  bool
	preserveFDs   int
}

func (o *createFlags) add(f *pflag.FlagSet) {
	f.StringVarP(&o.bundle, "bundle", "b", "", "bundle directory (default: the current directory)")
	f.StringVar(&o.pidFile, "pid-file", "", "file to write the container's PID to")
	f.StringVar(&o.consoleSocket, "console-socket", "", "unix socket that receives the terminal's master fd")
	f.BoolVar(&o.noPivot, "no-pivot", false, "enter the rootfs with MS_MOVE+chroot instead of pivot_root (ramdisks)")
	f.BoolVar(&o.noNewKeyring, "no-new-keyring", false, "keep the caller's session keyring (cocin never makes one)")
	f.IntVar(&o.preserveFDs, "preserve-fds", 0, "pass N descriptors after stdio (3, 4, ...) to the container")
}

func (a *app) createCommand() *cobra.Command {
	var o createFlags
	cmd := &cobra.Command{
		Use:   "create [flags] CONTAINER_ID",
		Short: "Create a container from a bundle; its process waits for start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.create(cmd.Context(), args[0], &o)
			if err != nil {
				return err
			}
			// The init keeps running without us: containerd's shim, a
			// subreaper, becomes its parent.
			c.Close()
			return nil
		},
	}
	o.add(cmd.Flags())
	return cmd
}

// loadBundle reads BUNDLE/config.json.
func (a *app) loadBundle(bundle string) (string, *specs.Spec, error) {
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return "", nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return "", nil, fmt.Errorf("read bundle config: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return "", nil, fmt.Errorf("parse %s: %w", filepath.Join(abs, "config.json"), err)
	}
	if spec.Process == nil {
		return "", nil, errors.New("config.json: process is required")
	}
	if spec.Root == nil {
		return "", nil, errors.New("config.json: root is required")
	}
	if a.g.systemdCgroup && spec.Linux != nil {
		spec.Linux.CgroupsPath = systemdPath(spec.Linux.CgroupsPath)
	}
	return abs, &spec, nil
}

// systemdPath maps "slice:prefix:name" to a cgroupfs path under the slice.
func systemdPath(p string) string {
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return p
	}
	slice := parts[0]
	if slice == "" {
		slice = "system.slice"
	}
	return slice + "/" + parts[1] + "-" + parts[2] + ".scope"
}

func (a *app) create(ctx context.Context, id string, o *createFlags) (c *runtime.Container, err error) {
	bundle, spec, err := a.loadBundle(o.bundle)
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	co := runtime.CreateOpts{ID: id, Spec: spec, Bundle: bundle, NoPivot: o.noPivot}
	if !spec.Process.Terminal {
		co.Stdin, co.Stdout, co.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	if o.consoleSocket != "" {
		sock, err := dialConsole(o.consoleSocket)
		if err != nil {
			return nil, err
		}
		defer sock.Close()
		co.ConsoleSocket = sock
	} else if spec.Process.Terminal {
		return nil, errors.New("create: process.terminal is set: --console-socket is required")
	}
	for i := 0; i < o.preserveFDs; i++ {
		co.ExtraFiles = append(co.ExtraFiles, os.NewFile(uintptr(3+i), "preserved-"+strconv.Itoa(3+i)))
	}
	rt := a.runtime()
	c, err = rt.Create(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, c.Pid); err != nil {
			c.Close()
			_ = deleteTidy(rt, id, true)
			return nil, err
		}
	}
	return c, nil
}

func dialConsole(path string) (*os.File, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connect to console socket: %w", err)
	}
	defer conn.Close()
	return conn.File()
}

// writePidFile writes pid atomically: a reader never sees a partial file.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := state.WriteFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func (a *app) startCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER_ID",
		Short: "Start the process of a created container",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			st, err := a.runtime().State(args[0])
			if err != nil {
				return err
			}
			if st.Status != specs.StateCreated {
				return fmt.Errorf("start %s: cannot start a container in status %s", args[0], st.Status)
			}
			return a.runtime().Start(args[0])
		},
	}
}

func (a *app) runCommand() *cobra.Command {
	var o createFlags
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [flags] CONTAINER_ID",
		Short: "Create and start a container; wait for it unless --detach",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd.Context(), args[0], &o, detach)
		},
	}
	o.add(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "do not wait for the container to exit")
	return cmd
}

func (a *app) run(ctx context.Context, id string, o *createFlags, detach bool) error {
	c, err := a.create(ctx, id, o)
	if err != nil {
		return err
	}
	rt := a.runtime()
	if err := rt.Start(id); err != nil {
		c.Close()
		_ = deleteTidy(rt, id, true)
		return err
	}
	if detach {
		c.Close()
		return nil
	}
	if err := c.Started(); err != nil {
		_, _ = c.Wait()
		_ = deleteTidy(rt, id, true)
		return err
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	go func() {
		for s := range sigs {
			if sig, ok := s.(unix.Signal); ok && sig != unix.SIGCHLD && sig != unix.SIGURG {
				_ = c.Signal(sig)
			}
		}
	}()
	code, err := c.Wait()
	signal.Stop(sigs)
	if derr := deleteTidy(rt, id, true); err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	return &exitError{code: code}
}

func (a *app) deleteCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [--force] CONTAINER_ID",
		Short: "Remove a stopped container (with --force, any container)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			err := deleteTidy(a.runtime(), args[0], force)
			if force && errors.Is(err, runtime.ErrNotExist) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return cmd
}

func (a *app) killCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] CONTAINER_ID [SIGNAL]",
		Short: "Send a signal (default SIGTERM) to a container's process",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			sig := unix.SIGTERM
			if len(args) == 2 {
				s, err := parseSignal(args[1])
				if err != nil {
					return err
				}
				sig = s
			}
			return a.runtime().Kill(args[0], sig, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container's cgroup")
	return cmd
}

// parseSignal accepts 9, KILL and SIGKILL.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}

// deleteTidy deletes a container, then the runtime's default cgroup parent
// if no container is left in it: a container without cgroupsPath goes
// below that parent ("cocin", or COCIN_CGROUP_PARENT), which would else
// stay on the host after the last one (runc puts such a container at the
// hierarchy's root instead). A busy parent is left alone.
func deleteTidy(rt *runtime.Runtime, id string, force bool) error {
	err := rt.Delete(id, force)
	if err == nil {
		_ = cgroups.RemoveParent(rt.DefaultCgroupParent)
	}
	return err
}
