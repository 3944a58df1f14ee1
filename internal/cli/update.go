package cli

import (
	"fmt"

	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (a *app) updateCommand() *cobra.Command {
	var set specgen.Limits
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update the resource limits of one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().NFlag() == 0 {
				return fmt.Errorf("you must provide one or more flags when using this command")
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			change := changedLimits(cmd.Flags(), &set)
			failed := false
			for _, ref := range args {
				if err := e.Update(ref, change); err != nil {
					fmt.Fprintf(a.streams.Stderr, "cocin: update %s: %v\n", ref, err)
					failed = true
					continue
				}
				fmt.Fprintln(a.streams.Stdout, ref)
			}
			if failed {
				return &codeError{code: 1}
			}
			return nil
		},
	}
	addLimitFlags(cmd.Flags(), &set)
	return cmd
}

// changedLimits copies into a container's limits only the flags given.
func changedLimits(f *pflag.FlagSet, set *specgen.Limits) func(*specgen.Limits) {
	return func(l *specgen.Limits) {
		copies := map[string]func(){
			"memory":             func() { l.Memory = set.Memory },
			"memory-swap":        func() { l.MemorySwap = set.MemorySwap },
			"memory-reservation": func() { l.MemoryReservation = set.MemoryReservation },
			"cpus":               func() { l.NanoCpus = set.NanoCpus },
			"cpu-shares":         func() { l.CPUShares = set.CPUShares },
			"cpu-period":         func() { l.CPUPeriod = set.CPUPeriod },
			"cpu-quota":          func() { l.CPUQuota = set.CPUQuota },
			"cpuset-cpus":        func() { l.CpusetCpus = set.CpusetCpus },
			"cpuset-mems":        func() { l.CpusetMems = set.CpusetMems },
			"pids-limit":         func() { l.PidsLimit = set.PidsLimit },
			"blkio-weight":       func() { l.BlkioWeight = set.BlkioWeight },
		}
		f.Visit(func(fl *pflag.Flag) {
			if cp, ok := copies[fl.Name]; ok {
				cp()
			}
		})
	}
}
