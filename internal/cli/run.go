package cli

import (
	"fmt"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/cobra"
)

func (a *app) runCommand() *cobra.Command {
	o := &engine.RunOptions{}
	a.lastRunOptions = o
	var entrypoint string
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image, o.Cmd = args[0], args[1:]
			if cmd.Flags().Changed("entrypoint") {
				o.Entrypoint = &entrypoint
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
	// Flags after the image belong to the container's command.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep STDIN open")
	f.BoolVarP(&o.Tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVar(&o.Remove, "rm", false, "remove the container when it exits")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run the container in the background and print its ID")
	f.StringVar(&o.Restart, "restart", "no", "restart policy: no, on-failure[:max-retries], always, unless-stopped")
	f.StringArrayVar(&o.LogOptions, "log-opt", nil, "log options: max-size=SIZE, max-file=N")
	f.StringVar(&o.Name, "name", "", "assign a name to the container")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to take the host's)")
	f.StringArrayVar(&o.EnvFiles, "env-file", nil, "read environment variables from a file")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.Hostname, "hostname", "h", "", "container host name")
	f.StringVar(&entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	f.StringVarP(&o.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	addSecurityFlags(f, o)
	// -h is --hostname, as in Docker; help stays reachable as --help.
	f.Bool("help", false, "help for run")
	return cmd
}

func exitCode(code int, err error) int {
	if err != nil {
		return engine.ExitCode(err)
	}
	return code
}

func (a *app) createCommand() *cobra.Command {
	run := a.runCommand()
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container without starting it",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.Flags().AddFlagSet(run.Flags())
	cmd.Flags().SetInterspersed(false)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		o := a.lastRunOptions
		o.Image, o.Cmd = args[0], args[1:]
		if c.Flags().Changed("entrypoint") {
			ep, _ := c.Flags().GetString("entrypoint")
			o.Entrypoint = &ep
		}
		e, err := a.engine()
		if err != nil {
			return err
		}
		id, err := e.Create(a.ctx(c), o)
		if err != nil {
			return &codeError{code: engine.ExitCode(err), err: err}
		}
		fmt.Fprintln(a.streams.Stdout, id)
		return nil
	}
	return cmd
}
