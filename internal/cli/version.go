package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/cocin-dev/cocin/internal/engine"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "0.1.0-dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the cocin version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := tabwriter.NewWriter(a.streams.Stdout, 0, 8, 1, ' ', 0)
			fmt.Fprintf(w, "Version:\t%s\n", Version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						fmt.Fprintf(w, "Git commit:\t%s\n", s.Value)
					}
				}
			}
			fmt.Fprintf(w, "Go version:\t%s\n", runtime.Version())
			fmt.Fprintf(w, "OS/Arch:\t%s/%s\n", runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "OCI runtime spec:\t%s\n", specs.Version)
			return w.Flush()
		},
	}
}

func (a *app) infoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			printInfo(a, info)
			return nil
		},
	}
}

func printInfo(a *app, i *engine.Info) {
	w := tabwriter.NewWriter(a.streams.Stdout, 0, 8, 1, ' ', 0)
	fmt.Fprintf(w, "Version:\t%s\n", Version)
	fmt.Fprintf(w, "Containers:\t%d\n", i.Containers)
	fmt.Fprintf(w, " Running:\t%d\n", i.Running)
	fmt.Fprintf(w, " Stopped:\t%d\n", i.Stopped)
	fmt.Fprintf(w, "Images:\t%d\n", i.Images)
	fmt.Fprintf(w, "Storage Driver:\t%s\n", i.StorageDriver)
	fmt.Fprintf(w, "Cgroup Version:\t%s\n", i.CgroupVersion)
	fmt.Fprintf(w, "Cgroup Parent:\t%s\n", i.CgroupParent)
	fmt.Fprintf(w, "Root Dir:\t%s\n", i.Root)
	fmt.Fprintf(w, "Run Root:\t%s\n", i.RunRoot)
	fmt.Fprintf(w, "Kernel Version:\t%s\n", i.Kernel)
	fmt.Fprintf(w, "CPUs:\t%d\n", i.CPUs)
	fmt.Fprintf(w, "Total Memory:\t%s\n", i.Memory)
	w.Flush()
}
