package cli

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/network"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// psRow is what `ps --format` templates see, with Docker's field names.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Status, State, Names, Ports, Size, Labels, Mounts, Networks string
}

type psOptions struct {
	all, quiet, noTrunc, latest bool
	last                        int
	filters                     []string
	format                      string
}

func (a *app) psCommand() *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:     "ps [OPTIONS]",
		Aliases: []string{"container ls"},
		Short:   "List containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ps(o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only display container IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.IntVarP(&o.last, "last", "n", -1, "show n last created containers (includes all states)")
	f.BoolVarP(&o.latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter output based on conditions provided (status=, name=REGEXP, id=, ancestor=, exited=, before=, since=, volume=, network=)")
	f.StringVar(&o.format, "format", "", "format output using a Go template, or 'json'")
	return cmd
}

// ps lists the containers o selects.
func (a *app) ps(o psOptions) error {
	e, err := a.engine()
	if err != nil {
		return err
	}
	cs, err := e.List()
	if err != nil {
		return err
	}
	if cs, err = filterContainers(cs, o, e.PsNetwork); err != nil {
		return err
	}
	return printContainers(a.streams.Stdout, cs, o, e.PsNetwork)
}

// filterContainers applies -a, --filter, -n and -l, newest first.
func filterContainers(cs []*state.Container, o psOptions, nets netInfo) ([]*state.Container, error) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Created.After(cs[j].Created) })
	if o.latest {
		o.last = 1
	}
	f, err := compilePsFilter(o.filters, cs)
	if err != nil {
		return nil, err
	}
	// A status= filter looks at every container, as Docker's does.
	all := o.all || o.last >= 0 || len(f.byKey["status"]) > 0
	var out []*state.Container
	for _, c := range cs {
		if !all && !engine.IsRunning(c) {
			continue
		}
		var networks []string
		if _, ok := f.byKey["network"]; ok {
			_, networks = nets(c)
		}
		if f.match(c, networks) {
			out = append(out, c)
		}
	}
	if o.last >= 0 && len(out) > o.last {
		out = out[:o.last]
	}
	return out, nil
}

// statusText is Docker's STATUS column.
func statusText(c *state.Container) string {
	switch c.State.Status {
	case state.Running:
		return "Up " + units.HumanDuration(time.Since(c.State.StartedAt))
	case state.Paused:
		return "Up " + units.HumanDuration(time.Since(c.State.StartedAt)) + " (Paused)"
	case state.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", c.State.ExitCode, units.HumanDuration(time.Since(c.State.FinishedAt)))
	case state.Exited:
		return fmt.Sprintf("Exited (%d) %s ago", c.State.ExitCode, units.HumanDuration(time.Since(c.State.FinishedAt)))
	case state.Created:
		return "Created"
	default:
		return string(c.State.Status)
	}
}

func shortOrFull(id string, full bool) string {
	if full {
		return id
	}
	return id[:12]
}

// netInfo gives a container's published ports and network names.
type netInfo func(*state.Container) ([]network.PortMap, []string)

// portsText is Docker's PORTS column: "0.0.0.0:8080->80/tcp, ...".
func portsText(ports []network.PortMap) string {
	var parts []string
	for _, p := range ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		parts = append(parts, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort))), p.ContainerPort, p.Proto))
	}
	return strings.Join(parts, ", ")
}

func toRow(c *state.Container, noTrunc bool, nets netInfo) psRow {
	cmd := strings.Join(append([]string{c.Path}, c.Args...), " ")
	id := shortOrFull(c.ID, noTrunc)
	if !noTrunc {
		if len(cmd) > 20 {
			cmd = cmd[:19] + "…"
		}
	}
	ports, networks := nets(c)
	return psRow{
		Ports: portsText(ports), Networks: strings.Join(networks, ","),
		ID: id, Image: c.Image, Command: fmt.Sprintf("%q", cmd),
		CreatedAt:  c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(time.Since(c.Created)) + " ago",
		Status:     statusText(c), State: string(c.State.Status), Names: c.Name,
	}
}

func printContainers(out io.Writer, cs []*state.Container, o psOptions, nets netInfo) error {
	if o.quiet {
		for _, c := range cs {
			fmt.Fprintln(out, shortOrFull(c.ID, o.noTrunc))
		}
		return nil
	}
	if o.format != "" {
		return printTemplate(out, o.format, cs, func(c *state.Container) any { return toRow(c, o.noTrunc, nets) }, psHeaders)
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, c := range cs {
		r := toRow(c, o.noTrunc, nets)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names)
	}
	return w.Flush()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
