package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/volume"
	"github.com/spf13/cobra"
)

func (a *app) volumeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage volumes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.volumeCreateCommand(), a.volumeLsCommand(), a.volumeInspectCommand(),
		a.volumeRmCommand(), a.volumePruneCommand())
	return cmd
}

func (a *app) volumeCreateCommand() *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			v, err := e.VolumeCreate(name, l)
			if err != nil {
				return fmt.Errorf("create volume: %w", err)
			}
			fmt.Fprintln(a.streams.Stdout, v.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "set metadata on the volume (KEY=VALUE)")
	return cmd
}

func parseLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range in {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid label %q: empty key", l)
		}
		out[k] = v
	}
	return out, nil
}

// volumeRow is what `volume ls --format` templates see.
type volumeRow struct {
	Name, Driver, Mountpoint, Scope, Labels string
	CreatedAt                               string
}

func toVolumeRow(v *volume.Volume) volumeRow {
	keys := make([]string, 0, len(v.Labels))
	for k, val := range v.Labels {
		keys = append(keys, k+"="+val)
	}
	sort.Strings(keys)
	return volumeRow{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Scope: v.Scope,
		Labels: strings.Join(keys, ","), CreatedAt: v.CreatedAt.Format("2006-01-02 15:04:05 -0700 MST")}
}

func (a *app) volumeLsCommand() *cobra.Command {
	var quiet bool
	var filters []string
	var format string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			vs, err := e.VolumeList(filters)
			if err != nil {
				return err
			}
			out := a.streams.Stdout
			switch {
			case quiet:
				for _, v := range vs {
					fmt.Fprintln(out, v.Name)
				}
				return nil
			case format != "":
				return printTemplate(out, format, vs, func(v *volume.Volume) any { return toVolumeRow(v) }, volumeHeaders)
			}
			tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "only display volume names")
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter output: name=, label=KEY[=VALUE], dangling=true|false, driver=")
	f.StringVar(&format, "format", "", "format output using a Go template, or 'json'")
	return cmd
}

func (a *app) volumeInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			var items []*volume.Volume
			var firstErr error
			for _, n := range args {
				v, err := e.VolumeInspect(n)
				if err != nil {
					fmt.Fprintf(a.streams.Stderr, "cocin: %v\n", err)
					firstErr = err
					continue
				}
				items = append(items, v)
			}
			if format != "" {
				err = printTemplate(a.streams.Stdout, format, items, func(v *volume.Volume) any { return v }, nil)
			} else {
				err = engine.WriteJSON(a.streams.Stdout, nonNil(items))
			}
			if err == nil && firstErr != nil {
				return &codeError{code: 1}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output using a Go template")
	return cmd
}

func (a *app) volumeRmCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes; a volume in use is refused",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachContainer(args, func(e *engine.Engine, name string) error { return e.VolumeRemove(name, force) }, true)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail on a volume that does not exist")
	return cmd
}

func (a *app) volumePruneCommand() *cobra.Command {
	var all, yes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused anonymous volumes (with --all, every unused volume)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			removed, freed, err := e.VolumePrune(all, filters)
			printDeleted(a.streams.Stdout, "Deleted Volumes:", "", removed)
			printReclaimed(a.streams.Stdout, freed)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "remove every unused volume, not only anonymous ones")
	f.BoolVarP(&yes, "force", "f", false, "do not prompt for confirmation (cocin never prompts)")
	f.StringArrayVar(&filters, "filter", nil, "only volumes matching: label=KEY[=VALUE], name=")
	return cmd
}
