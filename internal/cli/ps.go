package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
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
			e, err := a.engine()
			if err != nil {
				return err
			}
			cs, err := e.List()
			if err != nil {
				return err
			}
			cs, err = filterContainers(cs, o)
			if err != nil {
				return err
			}
			return printContainers(a.streams.Stdout, cs, o, e.PsNetwork)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only display container IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.IntVarP(&o.last, "last", "n", -1, "show n last created containers (includes all states)")
	f.BoolVarP(&o.latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter output based on conditions provided (status=, name=, id=, ancestor=)")
	f.StringVar(&o.format, "format", "", "format output using a Go template, or 'json'")
	return cmd
}

func filterContainers(cs []*state.Container, o psOptions) ([]*state.Container, error) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Created.After(cs[j].Created) })
	if o.latest {
		o.last = 1
	}
	all := o.all || o.last >= 0
	var out []*state.Container
	for _, c := range cs {
		if !all && !engine.IsRunning(c) {
			continue
		}
		ok, err := matchFilters(c, o.filters)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	if o.last >= 0 && len(out) > o.last {
		out = out[:o.last]
	}
	return out, nil
}

// matchFilters applies --filter: the same key ORs, different keys AND.
func matchFilters(c *state.Container, filters []string) (bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return false, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		byKey[k] = append(byKey[k], v)
	}
	for k, vals := range byKey {
		match := false
		for _, v := range vals {
			switch k {
			case "status":
				match = match || string(c.State.Status) == v
			case "name":
				match = match || strings.Contains(c.Name, v)
			case "id":
				match = match || strings.HasPrefix(c.ID, v)
			case "ancestor":
				match = match || c.Image == v || strings.TrimSuffix(c.Image, ":latest") == strings.TrimSuffix(v, ":latest") ||
					strings.HasPrefix(strings.TrimPrefix(c.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
			case "exited":
				match = match || (c.State.Status == state.Exited && fmt.Sprint(c.State.ExitCode) == v)
			default:
				return false, fmt.Errorf("invalid filter %q", k)
			}
		}
		if !match {
			return false, nil
		}
	}
	return true, nil
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
		return printTemplate(out, o.format, cs, func(c *state.Container) any { return toRow(c, o.noTrunc, nets) })
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, c := range cs {
		r := toRow(c, o.noTrunc, nets)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names)
	}
	return w.Flush()
}

// formatEscapes are the two-character sequences Docker turns into the
// characters before parsing a --format, so that a shell's single quotes
// can carry a tab or a newline.
var formatEscapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// printTemplate runs a Docker-style --format template for each item;
// "table ..." prints a header made of the field names, "json" one JSON
// object per line.
func printTemplate[T any](out io.Writer, format string, items []T, view func(T) any) error {
	if format == "json" {
		format = "{{json .}}"
	}
	table := strings.HasPrefix(format, "table ")
	if table {
		format = strings.TrimPrefix(format, "table ")
	}
	format = formatEscapes.Replace(format)
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("invalid --format template: %w", err)
	}
	var w io.Writer = out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
		w = tw
		fmt.Fprintln(w, strings.ToUpper(headerFromTemplate(format)))
	}
	for _, it := range items {
		if err := tmpl.Execute(w, view(it)); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

var templateFuncs = template.FuncMap{
	"json":  func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"upper": strings.ToUpper, "lower": strings.ToLower,
	"join": joinAny, "title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// joinAny is Docker's join, also for the []any lists of inspect's JSON view.
func joinAny(v any, sep string) string {
	switch l := v.(type) {
	case []string:
		return strings.Join(l, sep)
	case []any:
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, sep)
	}
	return fmt.Sprint(v)
}

// headerFromTemplate turns "{{.ID}}\t{{.Names}}" into "ID\tNAMES".
func headerFromTemplate(f string) string {
	var b strings.Builder
	for {
		i := strings.Index(f, "{{")
		if i < 0 {
			b.WriteString(f)
			break
		}
		b.WriteString(f[:i])
		j := strings.Index(f[i:], "}}")
		if j < 0 {
			break
		}
		field := strings.TrimSpace(f[i+2 : i+j])
		field = strings.TrimPrefix(field, ".")
		b.WriteString(field)
		f = f[i+j+2:]
	}
	return b.String()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
