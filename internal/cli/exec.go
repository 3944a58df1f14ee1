package cli

import (
	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/cobra"
)

func (a *app) execCommand() *cobra.Command {
	o := &engine.ExecOptions{}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Cmd = args[1:]
			if err := a.checkInputTTY(o.Tty && o.Interactive && !o.Detach); err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			code, err := e.Exec(a.ctx(cmd), args[0], o, a.streams)
			if err != nil || code != 0 {
				return &codeError{code: code, err: err}
			}
			return nil
		},
	}
	// Flags after the container belong to the command.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep STDIN open")
	f.BoolVarP(&o.Tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run the command in the background")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to take the host's)")
	f.StringArrayVar(&o.EnvFiles, "env-file", nil, "read environment variables from a file")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	f.BoolVar(&o.Privileged, "privileged", false, "give the command every capability")
	return cmd
}
