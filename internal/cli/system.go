package cli

import (
	"fmt"
	"io"
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
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", r.Type, r.Total, r.Active,
					units.HumanSize(float64(r.Size)), reclaimableText(r))
			}
			return w.Flush()
		},
	}
}

// reclaimableText is Docker's RECLAIMABLE column: the size and, when
// anything is used at all, its share in percent.
func reclaimableText(r engine.DiskUsage) string {
	s := units.HumanSize(float64(r.Reclaimable))
	if r.Size > 0 {
		s += fmt.Sprintf(" (%d%%)", 100*r.Reclaimable/r.Size)
	}
	return s
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
				printPrune(a.streams.Stdout, r)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.AllImages, "all", "a", false, "remove all unused images, not just dangling ones")
	cmd.Flags().BoolVar(&o.Volumes, "volumes", false, "prune unused anonymous volumes too")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func printPrune(out io.Writer, r *engine.PruneReport) {
	printDeleted(out, "Deleted Containers:", "", r.Containers)
	printDeleted(out, "Deleted Networks:", "", r.Networks)
	printDeleted(out, "Deleted Volumes:", "", r.Volumes)
	printDeleted(out, "Deleted Images:", "deleted: ", r.Images)
	printDeleted(out, "Repaired:", "", r.Repaired)
	printReclaimed(out, r.Reclaimed)
}

// printDeleted prints a prune's list as Docker does: a title, one item a
// line, a blank line; nothing for an empty list.
func printDeleted(out io.Writer, title, prefix string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(out, title)
	for _, it := range items {
		fmt.Fprintln(out, prefix+it)
	}
	fmt.Fprintln(out)
}

// printReclaimed is the last line of every prune, in Docker's decimal
// units (kB, MB, GB).
func printReclaimed(out io.Writer, n int64) {
	fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSize(float64(n)))
}
