// Package runtimecli is cocin's runtime behind runc's command line, so that
// containerd's runc shim (and through it Kubernetes) can drive it: as
// `cocin runtime ...` or as a binary named cocin-runtime. It is a thin layer
// over internal/runtime, the same package the engine uses in-process.
package runtimecli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cocin-dev/cocin/internal/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

// Arg0 is the program name under which cocin behaves as this CLI alone.
const Arg0 = "cocin-runtime"

// Version is printed by --version, with the runtime-spec version.
var Version = "0.1.0"

// globals are runc's global flags.
type globals struct {
	root          string
	log           string
	logFormat     string
	debug         bool
	systemdCgroup bool
}

type app struct {
	g      globals
	stdout io.Writer
}

// Main runs the CLI as the whole program (argv[0] is cocin-runtime) and
// returns the exit code.
func Main(args []string) int {
	a := &app{stdout: os.Stdout}
	cmd := a.command(Arg0)
	cmd.SetArgs(args[1:])
	return a.finish(cmd.Execute())
}

// Command returns `cocin runtime`, for cocin's own command tree. Errors
// are reported and turned into the exit code here, as runc does, so that
// the caller's error printing is bypassed.
func Command() *cobra.Command {
	a := &app{stdout: os.Stdout}
	cmd := a.command("runtime")
	cmd.Short = "Run OCI bundles with a runc-compatible command line (containerd's BinaryName)"
	for _, c := range cmd.Commands() {
		wrapRunE(a, c)
	}
	return cmd
}

// wrapRunE makes a subcommand of `cocin runtime` exit with runc's codes.
func wrapRunE(a *app, c *cobra.Command) {
	run := c.RunE
	if run == nil {
		return
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if code := a.finish(run(cmd, args)); code != 0 {
			os.Exit(code)
		}
		return nil
	}
}

func (a *app) command(use string) *cobra.Command {
	root := &cobra.Command{
		Use:           use,
		Short:         "cocin's OCI runtime (runc-compatible command line)",
		Version:       fmt.Sprintf("%s\nspec: %s", Version, specs.Version),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if a.g.logFormat != "text" && a.g.logFormat != "json" {
				// runc's exit code, also under `cocin runtime`.
				os.Exit(a.finish(fmt.Errorf("invalid log-format: %s", a.g.logFormat)))
			}
			a.setupLogging()
			return nil
		},
	}
	root.SetVersionTemplate("cocin-runtime version {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	f := root.PersistentFlags()
	f.StringVar(&a.g.root, "root", "/run/cocin-runtime", "directory for the containers' state")
	f.StringVar(&a.g.log, "log", "", "log file (default stderr)")
	f.StringVar(&a.g.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&a.g.debug, "debug", false, "log debug messages")
	f.BoolVar(&a.g.systemdCgroup, "systemd-cgroup", false, "read cgroupsPath as slice:prefix:name (cgroups are still written directly)")
	root.AddCommand(
		a.createCommand(), a.startCommand(), a.runCommand(), a.stateCommand(), a.listCommand(),
		a.killCommand(), a.deleteCommand(), a.psCommand(), a.pauseCommand(), a.resumeCommand(),
		a.updateCommand(), a.eventsCommand(), a.featuresCommand(), a.specCommand(), a.execCommand(),
	)
	return root
}

func (a *app) runtime() *runtime.Runtime {
	return &runtime.Runtime{Root: a.g.root, DefaultCgroupParent: os.Getenv("COCIN_CGROUP_PARENT")}
}

// setupLogging sends slog (hook warnings, debug steps) where --log says,
// in the format containerd's shim parses back on failure.
func (a *app) setupLogging() {
	var w io.Writer = os.Stderr
	if a.g.log != "" {
		if f, err := os.OpenFile(a.g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			w = f
		}
	}
	lvl := slog.LevelInfo
	if a.g.debug {
		lvl = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: runcKeys}
	if a.g.logFormat == "json" {
		slog.SetDefault(slog.New(slog.NewJSONHandler(w, opts)))
	} else {
		slog.SetDefault(slog.New(slog.NewTextHandler(w, opts)))
	}
}

// runcKeys renames slog's keys to logrus's, which containerd reads.
func runcKeys(_ []string, at slog.Attr) slog.Attr {
	switch at.Key {
	case slog.LevelKey:
		return slog.String("level", lowerLevel(at.Value.String()))
	case slog.MessageKey:
		at.Key = "msg"
	}
	return at
}

func lowerLevel(s string) string {
	switch s {
	case "ERROR":
		return "error"
	case "WARN":
		return "warning"
	case "DEBUG":
		return "debug"
	}
	return "info"
}

// exitError ends a command with a code and no message (run's container
// status).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// finish reports err on stderr and in the log file (where the shim looks
// for it) and returns the exit code: 1 for any failure, as runc.
func (a *app) finish(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(os.Stderr, "cocin: %v\n", err)
	if a.g.log != "" {
		a.logError(err)
	}
	return 1
}

func (a *app) logError(err error) {
	f, ferr := os.OpenFile(a.g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if ferr != nil {
		return
	}
	defer f.Close()
	if a.g.logFormat == "json" {
		b, _ := json.Marshal(map[string]string{"level": "error", "msg": err.Error(), "time": time.Now().Format(time.RFC3339Nano)})
		fmt.Fprintf(f, "%s\n", b)
		return
	}
	fmt.Fprintf(f, "time=%q level=error msg=%q\n", time.Now().Format(time.RFC3339Nano), err.Error())
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
