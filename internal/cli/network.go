package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/network"
	"github.com/spf13/cobra"
)

func (a *app) networkCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage networks", Args: cobra.NoArgs}
	cmd.AddCommand(a.networkCreateCommand(), a.networkLsCommand(), a.networkInspectCommand(),
		a.networkRmCommand(), a.networkConnectCommand(), a.networkDisconnectCommand(), a.networkPruneCommand())
	return cmd
}

func (a *app) networkStore() (*engine.Engine, *network.Store, error) {
	e, err := a.engine()
	if err != nil {
		return nil, nil, err
	}
	st, err := e.Networks()
	return e, st, err
}

func (a *app) networkCreateCommand() *cobra.Command {
	var o network.CreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := a.networkStore()
			if err != nil {
				return err
			}
			o.Name = args[0]
			n, err := st.Create(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.streams.Stdout, n.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Subnet, "subnet", "", "subnet in CIDR form (default: a free one)")
	cmd.Flags().StringVar(&o.Gateway, "gateway", "", "gateway address (default: the subnet's first)")
	cmd.Flags().BoolVar(&o.Internal, "internal", false, "restrict external access to the network")
	cmd.Flags().StringP("driver", "d", "bridge", "driver (only bridge)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if d, _ := cmd.Flags().GetString("driver"); d != "bridge" {
			return fmt.Errorf("network driver %q is not supported: only bridge", d)
		}
		return nil
	}
	return cmd
}

// networkRow is what `network ls --format` templates see, with Docker's
// field names.
type networkRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string
}

func toNetworkRow(n *network.Network, noTrunc bool) networkRow {
	id := n.ID
	if !noTrunc {
		id = id[:12]
	}
	return networkRow{ID: id, Name: n.Name, Driver: n.Driver, Scope: "local", IPv6: "false",
		Internal: strconv.FormatBool(n.Internal), CreatedAt: n.Created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST")}
}

const defaultNetworkFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

func (a *app) networkLsCommand() *cobra.Command {
	var quiet, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := a.networkStore()
			if err != nil {
				return err
			}
			nets, err := st.List()
			if err != nil {
				return err
			}
			if quiet {
				for _, n := range nets {
					fmt.Fprintln(a.streams.Stdout, toNetworkRow(n, noTrunc).ID)
				}
				return nil
			}
			return printTemplate(a.streams.Stdout, cmp.Or(format, defaultNetworkFormat), nets,
				func(n *network.Network) any { return toNetworkRow(n, noTrunc) }, networkHeaders)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "do not truncate the output")
	cmd.Flags().StringVar(&format, "format", "", "format output using a Go template (fields .ID, .Name, .Driver, .Scope, .IPv6, .Internal, .Labels, .CreatedAt), or 'json'")
	return cmd
}

// networkView is `network inspect`'s JSON, shaped like Docker's.
type networkView struct {
	*network.Network
	IPAM       map[string]any            `json:"IPAM"`
	Containers map[string]containerOnNet `json:"Containers"`
}

type containerOnNet struct {
	Name        string   `json:"Name"`
	IPv4Address string   `json:"IPv4Address"`
	MacAddress  string   `json:"MacAddress"`
	Aliases     []string `json:"Aliases,omitempty"`
}

// networkInspectView is network NAME with the containers on it.
func networkInspectView(st *network.Store, name string) (networkView, error) {
	n, err := st.Get(name)
	if err != nil {
		return networkView{}, err
	}
	v := networkView{Network: n, Containers: map[string]containerOnNet{},
		IPAM: map[string]any{"Driver": "default", "Config": []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}}}
	lives, _ := st.Containers(n.Name)
	for _, l := range lives {
		for _, ep := range l.Endpoints {
			if ep.Network == n.Name {
				v.Containers[l.ID] = containerOnNet{Name: l.Name, IPv4Address: ep.IP + "/" + strconv.Itoa(ep.PrefixLen), MacAddress: ep.MAC, Aliases: ep.Aliases}
			}
		}
	}
	return v, nil
}

func (a *app) networkInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := a.networkStore()
			if err != nil {
				return err
			}
			var out []networkView
			var failed error
			for _, name := range args {
				v, err := networkInspectView(st, name)
				if err != nil {
					failed = err
					continue
				}
				out = append(out, v)
			}
			b, _ := json.MarshalIndent(out, "", "    ")
			fmt.Fprintln(a.streams.Stdout, string(b))
			return failed
		},
	}
}

func (a *app) networkRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := a.networkStore()
			if err != nil {
				return err
			}
			var failed error
			for _, name := range args {
				if err := st.Remove(name); err != nil {
					fmt.Fprintf(a.streams.Stderr, "cocin: network rm %s: %v\n", name, err)
					failed = &codeError{code: 1}
					continue
				}
				fmt.Fprintln(a.streams.Stdout, name)
			}
			return failed
		},
	}
}

func (a *app) networkConnectCommand() *cobra.Command {
	var aliases []string
	var ip string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return e.NetworkConnect(args[0], args[1], aliases, ip)
		},
	}
	cmd.Flags().StringArrayVar(&aliases, "alias", nil, "add a network-scoped alias for the container")
	cmd.Flags().StringVar(&ip, "ip", "", "IPv4 address")
	return cmd
}

func (a *app) networkDisconnectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "disconnect NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return e.NetworkDisconnect(args[0], args[1])
		},
	}
}

func (a *app) networkPruneCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all networks no running container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := a.networkStore()
			if err != nil {
				return err
			}
			removed, err := st.Prune()
			if len(removed) > 0 {
				fmt.Fprintf(a.streams.Stdout, "Deleted Networks:\n%s\n", strings.Join(removed, "\n"))
			}
			return err
		},
	}
	cmd.Flags().BoolP("force", "f", false, "do not prompt for confirmation")
	return cmd
}

func (a *app) portCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings of a container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			ports, err := e.Ports(args[0])
			if err != nil {
				return err
			}
			found := false
			for _, p := range ports {
				key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
				if len(args) == 2 {
					if want := args[1]; want != key && want+"/tcp" != key {
						continue
					}
					fmt.Fprintln(a.streams.Stdout, strings.SplitN(p.String(), " -> ", 2)[1])
				} else {
					fmt.Fprintln(a.streams.Stdout, p.String())
				}
				found = true
			}
			if len(args) == 2 && !found {
				return fmt.Errorf("no public port '%s' published for %s", args[1], args[0])
			}
			return nil
		},
	}
}
