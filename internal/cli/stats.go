package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

const defaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// statsRow is what `stats --format` templates see, with Docker's names.
type statsRow struct {
	Container, ID, Name                              string
	CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
}

// statsHeader is the table header: the template run on column titles.
var statsHeader = statsRow{Container: "CONTAINER", ID: "CONTAINER ID", Name: "NAME", CPUPerc: "CPU %",
	MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS"}

type statsOptions struct {
	all, noStream, noTrunc bool
	format                 string
}

func (a *app) statsCommand() *cobra.Command {
	var o statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return runStats(a.ctx(cmd), e, args, o, a.streams.Stdout)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVar(&o.noStream, "no-stream", false, "disable streaming stats and only pull the first result")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate output")
	f.StringVar(&o.format, "format", "", "format output using a Go template")
	return cmd
}

// runStats samples every container twice per round, a second apart (half
// a second for --no-stream), since CPU % is usage over time.
func runStats(ctx context.Context, e *engine.Engine, refs []string, o statsOptions, out io.Writer) error {
	format := o.format
	if format == "" {
		format = defaultStatsFormat
	}
	table := strings.HasPrefix(format, "table ")
	format = formatEscapes.Replace(strings.TrimPrefix(format, "table "))
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("invalid --format template: %w", err)
	}
	clear := !o.noStream && isTerminal(out)
	prev := map[string]engine.StatsSample{}
	interval := time.Second
	if o.noStream {
		interval = 500 * time.Millisecond
	}
	for first := true; ; first = false {
		targets, err := e.StatsTargets(refs, o.all)
		if err != nil {
			return err
		}
		rows := make([]statsRow, 0, len(targets))
		cur := map[string]engine.StatsSample{}
		for _, c := range targets {
			s := e.Sample(c)
			cur[c.ID] = s
			rows = append(rows, toStatsRow(s, prev[c.ID], o.noTrunc))
		}
		prev = cur
		if !first {
			if clear {
				fmt.Fprint(out, "\033[2J\033[H")
			}
			if err := printStats(out, tmpl, table, rows); err != nil || o.noStream {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func printStats(out io.Writer, tmpl *template.Template, table bool, rows []statsRow) error {
	w := out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
		w = tw
		rows = append([]statsRow{statsHeader}, rows...)
	}
	for _, r := range rows {
		if err := tmpl.Execute(w, r); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func toStatsRow(s, prev engine.StatsSample, noTrunc bool) statsRow {
	id := s.ID
	if !noTrunc {
		id = id[:12]
	}
	r := statsRow{Container: id, ID: id, Name: s.Name, CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%",
		NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}
	if !s.Running {
		return r
	}
	r.CPUPerc = fmt.Sprintf("%.2f%%", s.CPUPercent(prev))
	r.MemUsage = units.BytesSize(float64(s.MemUsage)) + " / " + units.BytesSize(float64(s.MemLimit))
	r.MemPerc = fmt.Sprintf("%.2f%%", s.MemPercent())
	r.NetIO = decimalSize(s.NetRx) + " / " + decimalSize(s.NetTx)
	r.BlockIO = decimalSize(s.BlockRead) + " / " + decimalSize(s.BlockWrite)
	r.PIDs = fmt.Sprint(s.Pids)
	return r
}

func decimalSize(n uint64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
