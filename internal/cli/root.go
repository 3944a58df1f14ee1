// Package cli holds cocin's cobra commands. Each command fills an options
// struct and calls one engine function; nothing here touches the system.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/runtimecli"
	"github.com/cocin-dev/cocin/internal/trace"
	"github.com/spf13/cobra"
)

// globals are the flags every command takes.
type globals struct {
	root, runRoot string
	logLevel      string
	trace         bool
	span          *trace.Span
}

// app is the state shared by the commands of one invocation.
type app struct {
	g       globals
	streams engine.Streams
	eng     *engine.Engine
}

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	a := &app{streams: engine.Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}}
	root := a.rootCommand()
	root.SetArgs(args[1:])
	cmd, err := root.ExecuteC()
	if a.g.span != nil {
		a.g.span.End()
		a.g.span.Print(os.Stderr)
	}
	if err == nil {
		return 0
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(os.Stderr, "cocin: %v\n", ce.err)
		}
		return ce.code
	}
	fmt.Fprintf(os.Stderr, "cocin: %v\n", err)
	if cmd != nil && isUsageError(err) {
		fmt.Fprintf(os.Stderr, "See '%s --help'.\n", cmd.CommandPath())
	}
	return errorExitCode(cmd, err)
}

// exitCodeKey is the annotation holding the exit code of a command's
// failures; without it (on the command or a parent) they exit 1.
const exitCodeKey = "cocin/exit-code"

// engineErrorsExit125 marks run and create: as with Docker, their own
// failures exit 125 (126/127 when the command cannot be run), so that a
// caller tells them from the container's exit code. Every other command
// fails with 1, as Docker's client does for every error its daemon reports
// ("No such container", "is not running", a bad name) and for a wrong
// number of arguments. A bad flag exits 125 everywhere (Docker's flag
// errors do), and errors that carry their own code keep it.
func engineErrorsExit125(cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[exitCodeKey] = "125"
	}
	return cmds
}

// flagError is a flag cobra could not parse.
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

func errorExitCode(cmd *cobra.Command, err error) int {
	if cmd == nil || errors.As(err, new(flagError)) {
		return 125
	}
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[exitCodeKey] == "125" {
			return 125
		}
	}
	return 1
}

// codeError ends the command with a specific exit code; err (if any) is
// printed first.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func isUsageError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "unknown flag") || strings.Contains(s, "unknown shorthand") ||
		strings.Contains(s, "requires") || strings.Contains(s, "accepts") || strings.Contains(s, "unknown command")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "cocin",
		Short:         "A daemonless container engine with its own OCI runtime",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.setupLogging(cmd.ErrOrStderr())
			if a.g.trace {
				a.g.span = trace.NewRoot(cmd.CommandPath())
			}
			return nil
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
	f := root.PersistentFlags()
	f.StringVar(&a.g.root, "root", envOr("COCIN_ROOT", "/var/lib/cocin"), "persistent data directory (env COCIN_ROOT)")
	f.StringVar(&a.g.runRoot, "runroot", envOr("COCIN_RUNROOT", "/run/cocin"), "runtime state directory (env COCIN_RUNROOT)")
	f.StringVar(&a.g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.BoolVar(&a.g.trace, "trace", false, "print each step with its duration as a tree on stderr")
	root.AddCommand(engineErrorsExit125(a.runCommand(), a.createCommand())...)
	root.AddCommand(
		a.startCommand(), a.stopCommand(), a.restartCommand(), a.killCommand(), a.rmCommand(),
		a.waitCommand(), a.inspectCommand(), a.renameCommand(), a.pauseCommand(), a.unpauseCommand(),
		a.topCommand(), a.attachCommand(), a.execCommand(), a.portCommand(), a.statsCommand(),
		a.updateCommand(), a.cpCommand(), a.diffCommand(), a.exportCommand(), a.commitCommand(),
		a.psCommand(),
		a.logsCommand(),
		a.eventsCommand(),
		a.systemCommand(),
		a.importCommand(),
		a.imagesCommand(),
		a.rmiCommand(),
		a.pullCommand(), a.pushCommand(), a.saveCommand(), a.loadCommand(), a.tagCommand(),
		a.historyCommand(), a.imageCommand(), a.loginCommand(), a.logoutCommand(),
		a.versionCommand(),
		a.infoCommand(),
		a.volumeCommand(),
		a.networkCommand(),
	)
	root.AddCommand(runtimecli.Command())
	groupsRefuseUnknown(root)
	return root
}

// groupsRefuseUnknown makes a command group (network, volume, ...) fail
// on an unknown subcommand, exit 1 as with Docker; cobra would print the
// group's help and exit 0. Without arguments the help is printed.
func groupsRefuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		if c.HasSubCommands() && !c.Runnable() {
			c.Args = cobra.NoArgs
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		groupsRefuseUnknown(c)
	}
}

func (a *app) setupLogging(w io.Writer) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.g.logLevel)); err != nil {
		lvl = slog.LevelWarn
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})))
}

// engine opens the engine on first use.
func (a *app) engine() (*engine.Engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	e, err := engine.New(engine.Config{
		Root: a.g.root, RunRoot: a.g.runRoot,
		CgroupParent: os.Getenv("COCIN_CGROUP_PARENT"), // "": per root, see state.DefaultCgroupParent
	})
	if err != nil {
		return nil, err
	}
	a.eng = e
	return e, nil
}

// ctx returns the command's context, carrying the trace root when tracing.
func (a *app) ctx(cmd *cobra.Command) context.Context {
	return trace.WithSpan(cmd.Context(), a.g.span)
}
