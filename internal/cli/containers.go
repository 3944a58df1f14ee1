package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/spf13/cobra"
)

// eachContainer runs fn for every argument, reporting each failure and
// going on, as Docker does; the command fails if any did.
func (a *app) eachContainer(args []string, fn func(e *engine.Engine, ref string) error, printRef bool) error {
	e, err := a.engine()
	if err != nil {
		return err
	}
	failed := 0
	for _, ref := range args {
		if err := fn(e, ref); err != nil {
			fmt.Fprintf(a.streams.Stderr, "cocin: %v\n", err)
			failed++
			continue
		}
		if printRef {
			fmt.Fprintln(a.streams.Stdout, ref)
		}
	}
	if failed > 0 {
		return &codeError{code: 1}
	}
	return nil
}

func (a *app) stopCommand() *cobra.Command {
	var o engine.StopOptions
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("time") {
				o.Timeout = &timeout
			}
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Stop(a.ctx(cmd), ref, o) }, true)
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing the container")
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "signal to send (default: the image's STOPSIGNAL or SIGTERM)")
	return cmd
}

func (a *app) killCommand() *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Kill(a.ctx(cmd), ref, sig) }, true)
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send")
	return cmd
}

func (a *app) rmCommand() *cobra.Command {
	var o engine.RemoveOptions
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Remove(a.ctx(cmd), ref, o) }, true)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}

func (a *app) startCommand() *cobra.Command {
	var attach, interactive bool
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			if attach || interactive {
				if len(args) != 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				res, err := e.StartAttached(a.ctx(cmd), args[0], a.streams, interactive)
				if err != nil {
					return err
				}
				if res.Code != 0 {
					return &codeError{code: res.Code}
				}
				return nil
			}
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { _, err := e.Start(a.ctx(cmd), ref); return err }, true)
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach the container's STDIN")
	return cmd
}

func (a *app) restartCommand() *cobra.Command {
	var o engine.StopOptions
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("time") {
				o.Timeout = &timeout
			}
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Restart(a.ctx(cmd), ref, o) }, true)
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing the container")
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "signal to stop the container with (default: its stop signal)")
	return cmd
}

func (a *app) waitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, ref string) error {
				code, err := e.Wait(cmd.Context(), ref)
				if err == nil {
					fmt.Fprintln(a.streams.Stdout, code)
				}
				return err
			}, false)
		},
	}
}

func (a *app) pauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Pause(ref) }, true)
		},
	}
}

func (a *app) unpauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, ref string) error { return e.Unpause(ref) }, true)
		},
	}
}

func (a *app) renameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return e.Rename(args[0], args[1])
		},
	}
}

func (a *app) logsCommand() *cobra.Command {
	var o engine.LogsOptions
	var tail, since, until string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.logs(args[0], o, tail, since, until)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "follow log output")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	f.StringVar(&since, "since", "", "show logs since timestamp (RFC 3339) or relative (e.g. 42m)")
	f.StringVar(&until, "until", "", "show logs before a timestamp (RFC 3339) or relative (e.g. 42m)")
	return cmd
}

// logs prints a container's log; its failures exit 1, as Docker's.
func (a *app) logs(ref string, o engine.LogsOptions, tail, since, until string) error {
	o.Tail = -1
	if tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid --tail %q: want a number or \"all\"", tail)
		}
		o.Tail = n
	}
	var err error
	if o.Since, err = parseTime(since); err != nil {
		return fmt.Errorf("invalid --since: %w", err)
	}
	if o.Until, err = parseTime(until); err != nil {
		return fmt.Errorf("invalid --until: %w", err)
	}
	e, err := a.engine()
	if err != nil {
		return err
	}
	return e.Logs(ref, o, a.streams)
}

// parseTime accepts RFC 3339 times, Unix seconds and durations before now.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if sec, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(sec*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q", s)
}

func (a *app) attachCommand() *cobra.Command {
	var noStdin, sigProxy bool
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			res, err := e.Attach(a.ctx(cmd), args[0], a.streams, noStdin, sigProxy)
			if err != nil {
				return err
			}
			if !res.Detached && res.Code != 0 {
				return &codeError{code: res.Code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach STDIN")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "proxy the signals cocin receives to the container's process")
	return cmd
}
