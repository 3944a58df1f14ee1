package runtimecli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/spf13/cobra"
)

// runcState is the JSON `runc state` and `runc list --format json` print:
// the runtime-spec state plus rootfs, created and owner.
type runcState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func toRuncState(d *runtime.Details) runcState {
	return runcState{
		OCIVersion: d.Version, ID: d.ID, Pid: d.Pid, Status: string(d.Status), Bundle: d.Bundle,
		Rootfs: d.Rootfs, Created: d.Created, Owner: "root", Annotations: d.Annotations,
	}
}

func (a *app) stateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "state CONTAINER_ID",
		Short: "Print a container's state as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			d, err := a.runtime().Describe(args[0])
			if err != nil {
				return err
			}
			return a.printJSON(toRuncState(d))
		},
	}
}

func (a *app) listCommand() *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "list [--format table|json] [-q]",
		Short: "List the containers under --root",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("list: invalid format %q (table or json)", format)
			}
			rt := a.runtime()
			ids, err := rt.List()
			if err != nil {
				return err
			}
			states := []runcState{}
			for _, id := range ids {
				if d, err := rt.Describe(id); err == nil {
					states = append(states, toRuncState(d))
				}
			}
			return a.printList(states, format, quiet)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the IDs")
	return cmd
}

func (a *app) printList(states []runcState, format string, quiet bool) error {
	if quiet {
		for _, s := range states {
			fmt.Fprintln(a.stdout, s.ID)
		}
		return nil
	}
	if format == "json" {
		return a.printJSON(states)
	}
	w := tabwriter.NewWriter(a.stdout, 12, 1, 3, ' ', 0)
	fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
	for _, s := range states {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
	}
	return w.Flush()
}

func (a *app) psCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [--format table|json] CONTAINER_ID [-- PS_ARGS...]",
		Short: "List the processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			pids, err := a.runtime().Procs(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				if pids == nil {
					pids = []int{}
				}
				return a.printJSON(pids)
			case "table":
				return a.psTable(pids, args[1:])
			}
			return fmt.Errorf("ps: invalid format %q (table or json)", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}

// psTable runs ps(1) and keeps the header and the container's processes.
func (a *app) psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps: %w", err)
	}
	want := map[string]bool{}
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() {
		return nil
	}
	header := sc.Text()
	col := -1
	for i, f := range strings.Fields(header) {
		if f == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps: no PID column in %q", header)
	}
	fmt.Fprintln(a.stdout, header)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > col && want[f[col]] {
			fmt.Fprintln(a.stdout, sc.Text())
		}
	}
	return nil
}

func (a *app) featuresCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "Print what this runtime supports (runtime-spec features JSON)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.printJSON(runtimeFeatures())
		},
	}
}

func (a *app) specCommand() *cobra.Command {
	var bundle string
	cmd := &cobra.Command{
		Use:   "spec [--bundle DIR]",
		Short: "Write a starter config.json into a bundle",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return writeExampleSpec(bundle)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory")
	return cmd
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
