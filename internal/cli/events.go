package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"text/template"
	"time"

	"github.com/cocin-dev/cocin/internal/events"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func (a *app) eventsCommand() *cobra.Command {
	var since, until, format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var o events.ReadOptions
			var err error
			if o.Since, err = parseTime(since); err != nil {
				return fmt.Errorf("invalid --since: %w", err)
			}
			if o.Until, err = parseTime(until); err != nil {
				return fmt.Errorf("invalid --until: %w", err)
			}
			if o.Filter, err = events.ParseFilters(filters); err != nil {
				return err
			}
			var tmpl *template.Template
			if format != "" && format != "json" {
				if tmpl, err = template.New("format").Funcs(templateFuncs).Parse(formatEscapes.Replace(format)); err != nil {
					return fmt.Errorf("invalid --format template: %w", err)
				}
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			// Follow by default, as Docker does, until --until or a signal.
			o.Follow = true
			stop := make(chan struct{})
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
			defer signal.Stop(sigs)
			go func() { <-sigs; close(stop) }()
			o.Stop = stop
			out := a.streams.Stdout
			return e.Events.Read(o, func(ev events.Event) error {
				switch {
				case format == "json":
					b, _ := json.Marshal(ev)
					_, err := fmt.Fprintln(out, string(b))
					return err
				case tmpl != nil:
					if err := tmpl.Execute(out, ev); err != nil {
						return err
					}
					_, err := fmt.Fprintln(out)
					return err
				}
				_, err := fmt.Fprintf(out, "%s %s %s %s (image=%s, name=%s%s)\n",
					time.Unix(0, ev.TimeNano).Format("2006-01-02T15:04:05.000000000-07:00"),
					ev.Type, ev.Action, ev.ID, ev.Image, ev.Name, attrText(ev.Attrs))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "show events created since timestamp or relative time (e.g. 10m)")
	f.StringVar(&until, "until", "", "stream events until this timestamp or relative time")
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter output (type=, event=, container=, image=)")
	f.StringVar(&format, "format", "", "format output using a Go template, or 'json'")
	return cmd
}

func attrText(m map[string]string) string {
	s := ""
	for _, k := range []string{"exitCode", "signal", "oldName"} {
		if v, ok := m[k]; ok {
			s += ", " + k + "=" + v
		}
	}
	return s
}
