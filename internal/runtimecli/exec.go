package runtimecli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

// execFlags are runc exec's flags.
type execFlags struct {
	process       string
	detach        bool
	pidFile       string
	consoleSocket string
	tty           bool
	cwd           string
	env           []string
	user          string
	noNewPrivs    bool
}

func (a *app) execCommand() *cobra.Command {
	var o execFlags
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER_ID [COMMAND [ARG...]]",
		Short: "Run a process in a running container (--process FILE or COMMAND)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return a.exec(args[0], args[1:], &o)
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVarP(&o.process, "process", "p", "", "process.json (runtime-spec Process) to run")
	f.BoolVarP(&o.detach, "detach", "d", false, "do not wait for the process")
	f.StringVar(&o.pidFile, "pid-file", "", "file to write the process's PID to")
	f.StringVar(&o.consoleSocket, "console-socket", "", "unix socket that receives the terminal's master fd")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-terminal")
	f.StringVar(&o.cwd, "cwd", "", "working directory in the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable (KEY=VALUE)")
	f.StringVarP(&o.user, "user", "u", "", "UID[:GID] to run as")
	f.BoolVar(&o.noNewPrivs, "no-new-privs", false, "set no_new_privs")
	return cmd
}

func (a *app) exec(id string, argv []string, o *execFlags) error {
	rt := a.runtime()
	proc, err := o.buildProcess(rt, id, argv)
	if err != nil {
		return err
	}
	eo := runtime.ExecOpts{Process: proc, Detach: o.detach, Reparent: o.detach}
	if !proc.Terminal {
		eo.Stdin, eo.Stdout, eo.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	if o.consoleSocket != "" {
		sock, err := dialConsole(o.consoleSocket)
		if err != nil {
			return err
		}
		defer sock.Close()
		eo.ConsoleSocket = sock
	} else if proc.Terminal {
		return errors.New("exec: a terminal needs --console-socket")
	}
	if !o.detach {
		// nsenter's parent exits after forking: we must reap the process.
		if err := runtime.BecomeSubreaper(); err != nil {
			return err
		}
	}
	p, err := rt.Exec(context.Background(), id, eo)
	if err != nil {
		return fmt.Errorf("exec in %s: %w", id, err)
	}
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, p.Pid); err != nil {
			_ = p.Signal(9)
			return err
		}
	}
	if o.detach {
		p.Close()
		return nil
	}
	code, err := p.Wait()
	if err != nil {
		return err
	}
	return &exitError{code: code}
}

// buildProcess reads --process, or derives the process from the
// container's own (env, user, caps) with the flags applied.
func (o *execFlags) buildProcess(rt *runtime.Runtime, id string, argv []string) (*specs.Process, error) {
	if o.process != "" {
		b, err := os.ReadFile(o.process)
		if err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("exec: parse %s: %w", o.process, err)
		}
		return &p, nil
	}
	if len(argv) == 0 {
		return nil, errors.New("exec: a COMMAND or --process is required")
	}
	spec, err := rt.Spec(id)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", runtime.ErrNotExist)
	}
	p := *spec.Process
	p.Args, p.Terminal, p.ConsoleSize = argv, o.tty, nil
	p.Env = append(append([]string{}, p.Env...), o.env...)
	p.NoNewPrivileges = p.NoNewPrivileges || o.noNewPrivs
	if o.cwd != "" {
		p.Cwd = o.cwd
	}
	if o.user != "" {
		u, err := parseUser(o.user)
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	return &p, nil
}

// parseUser reads runc's UID[:GID].
func parseUser(s string) (specs.User, error) {
	us, gs, _ := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("exec: --user %q: want UID[:GID]", s)
	}
	u := specs.User{UID: uint32(uid)}
	if gs != "" {
		gid, err := strconv.ParseUint(gs, 10, 32)
		if err != nil {
			return specs.User{}, fmt.Errorf("exec: --user %q: want UID[:GID]", s)
		}
		u.GID = uint32(gid)
	}
	return u, nil
}
