package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) topCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container (host ps, default options -ef)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			list, err := e.Top(args[0], args[1:])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.streams.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(list.Titles, "\t"))
			for _, p := range list.Processes {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	// Everything after the container is ps's: `top C -o pid,comm`.
	cmd.Flags().SetInterspersed(false)
	return cmd
}
