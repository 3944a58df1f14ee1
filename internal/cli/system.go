package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func (a *app) systemCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "Manage cocin"}
	cmd.AddCommand(a.systemDfCommand(), a.systemPruneCommand(), a.infoCommand())
	return cmd
}

func (a *app) systemDfCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "df",
		Short: "Show disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			rows, err := e.DiskUsage()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.streams.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			for _, r := range rows {
				pct := 0
				if r.Size > 0 {
					pct = int(100 * r.Reclaimable / r.Size)
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s (%d%%)\n", r.Type, r.Total, r.Active,
					units.HumanSize(float64(r.Size)), units.HumanSize(float64(r.Reclaimable)), pct)
			}
			return w.Flush()
		},
	}
}

func (a *app) systemPruneCommand() *cobra.Command {
	var o engine.PruneOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove stopped containers and unused images, and repair what interrupted commands left",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				fmt.Fprint(a.streams.Stdout, "WARNING! This will remove all stopped containers, unused networks, unused images (and with --volumes unused anonymous volumes). Are you sure you want to continue? [y/N] ")
				var answer string
				_, _ = fmt.Fscanln(a.streams.Stdin, &answer)
				if !strings.EqualFold(strings.TrimSpace(answer), "y") {
					return nil
				}
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			r, err := e.Prune(o)
			if r != nil {
				printPrune(a, r)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.AllImages, "all", "a", false, "remove all unused images, not just dangling ones")
	cmd.Flags().BoolVar(&o.Volumes, "volumes", false, "prune unused anonymous volumes too")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func printPrune(a *app, r *engine.PruneReport) {
	out := a.streams.Stdout
	if len(r.Containers) > 0 {
		fmt.Fprintln(out, "Deleted Containers:")
		for _, id := range r.Containers {
			fmt.Fprintln(out, id)
		}
		fmt.Fprintln(out)
	}
	for _, group := range []struct {
		title string
		items []string
	}{{"Deleted Networks:", r.Networks}, {"Deleted Volumes:", r.Volumes}} {
		if len(group.items) > 0 {
			fmt.Fprintln(out, group.title)
			for _, n := range group.items {
				fmt.Fprintln(out, n)
			}
			fmt.Fprintln(out)
		}
	}
	if len(r.Images) > 0 {
		fmt.Fprintln(out, "Deleted Images:")
		for _, id := range r.Images {
			fmt.Fprintln(out, "deleted: "+id)
		}
		fmt.Fprintln(out)
	}
	if len(r.Repaired) > 0 {
		fmt.Fprintln(out, "Repaired:")
		for _, s := range r.Repaired {
			fmt.Fprintln(out, s)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(r.Reclaimed)))
}
