package cli

import (
	"errors"
	"fmt"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) runCommand() *cobra.Command {
	o := &engine.RunOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			setRunArgs(cmd, o, args)
			if err := a.checkInputTTY(o.Tty && o.Interactive && !o.Detach); err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			ctx := a.ctx(cmd)
			switch {
			case o.Detach:
				id, err := e.RunDetached(ctx, o)
				if err != nil {
					return &codeError{code: engine.ExitCode(err), err: err}
				}
				fmt.Fprintln(a.streams.Stdout, id)
				return nil
			case o.Tty:
				res, err := e.RunAttached(ctx, o, a.streams)
				if err != nil || (!res.Detached && res.Code != 0) {
					return &codeError{code: exitCode(res.Code, err), err: err}
				}
				return nil
			}
			code, err := e.Run(ctx, o, a.streams)
			if err != nil || code != 0 {
				return &codeError{code: code, err: err}
			}
			return nil
		},
	}
	addRunFlags(cmd, o)
	cmd.Flags().BoolVarP(&o.Detach, "detach", "d", false, "run the container in the background and print its ID")
	return cmd
}

func (a *app) createCommand() *cobra.Command {
	o := &engine.RunOptions{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container without starting it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			setRunArgs(cmd, o, args)
			e, err := a.engine()
			if err != nil {
				return err
			}
			id, err := e.Create(a.ctx(cmd), o)
			if err != nil {
				return &codeError{code: engine.ExitCode(err), err: err}
			}
			fmt.Fprintln(a.streams.Stdout, id)
			return nil
		},
	}
	addRunFlags(cmd, o)
	return cmd
}

// setRunArgs takes the image and command from the arguments, and the
// entrypoint only when the flag was given (an empty one clears the image's).
func setRunArgs(cmd *cobra.Command, o *engine.RunOptions, args []string) {
	o.Image, o.Cmd = args[0], args[1:]
	if cmd.Flags().Changed("entrypoint") {
		ep, _ := cmd.Flags().GetString("entrypoint")
		o.Entrypoint = &ep
	}
	if cmd.Flags().Changed("stop-timeout") {
		t, _ := cmd.Flags().GetInt("stop-timeout")
		o.StopTimeout = &t
	}
}

// addRunFlags registers the flags run and create share.
func addRunFlags(cmd *cobra.Command, o *engine.RunOptions) {
	// Flags after the image belong to the container's command.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep STDIN open")
	f.BoolVarP(&o.Tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVar(&o.Remove, "rm", false, "remove the container when it exits")
	f.StringVar(&o.Name, "name", "", "assign a name to the container")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to take the host's)")
	f.StringArrayVar(&o.EnvFiles, "env-file", nil, "read environment variables from a file")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.Hostname, "hostname", "h", "", "container host name")
	f.String("entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	f.StringVarP(&o.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.Restart, "restart", "no", "restart policy: no, on-failure[:max-retries], always, unless-stopped")
	f.StringArrayVar(&o.LogOptions, "log-opt", nil, "log options: max-size=SIZE, max-file=N")
	f.StringVar(&o.StopSignal, "stop-signal", "", "signal to stop the container (default: the image's STOPSIGNAL or SIGTERM)")
	f.Int("stop-timeout", 10, "seconds to wait for the container to stop before killing it (-1: no limit)")
	addVolumesFlags(f, o)
	addResourcesFlags(f, o)
	addNetworkFlags(f, &o.Net)
	addSecurityFlags(f, o)
	// -h is --hostname, as in Docker; help stays reachable as --help.
	f.Bool("help", false, "help for "+cmd.Name())
}

// checkInputTTY refuses -it when stdin is not a terminal, as Docker does
// before it makes anything: the input's end would never reach the
// container through the pseudo-terminal.
func (a *app) checkInputTTY(wanted bool) error {
	if wanted && !term.IsTerminal(int(a.streams.Stdin.Fd())) {
		return &codeError{code: 1, err: errors.New("the input device is not a TTY")}
	}
	return nil
}

func exitCode(code int, err error) int {
	if err != nil {
		return engine.ExitCode(err)
	}
	return code
}
