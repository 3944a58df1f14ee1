package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) cpCommand() *cobra.Command {
	var followLink bool
	cmd := &cobra.Command{
		Use: "cp CONTAINER:SRC_PATH DEST_PATH|-\n  cocin cp SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files and directories between a container and the host (running or stopped); " +
			"- is a tar stream on stdin or stdout",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			srcCtr, srcPath := splitCpArg(args[0])
			dstCtr, dstPath := splitCpArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return errors.New("copying between containers is not supported")
			case srcCtr != "":
				if err := e.CopyFromContainer(srcCtr, srcPath, dstPath, a.streams.Stdout, followLink); err != nil {
					return fmt.Errorf("cp: %w", err)
				}
			case dstCtr != "":
				if err := e.CopyToContainer(dstCtr, srcPath, dstPath, a.streams.Stdin, followLink); err != nil {
					return fmt.Errorf("cp: %w", err)
				}
			default:
				return errors.New("cp: one of the paths must be CONTAINER:PATH")
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&followLink, "follow-link", "L", false, "Always follow a symlink in SRC_PATH")
	return cmd
}

// splitCpArg splits CONTAINER:PATH. Like Docker, a local path holding a
// colon must contain a slash before it (./a:b), and "-" is a stream.
func splitCpArg(s string) (ctr, p string) {
	if s == "-" || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return "", s
	}
	c, rest, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(c, "/") {
		return "", s
	}
	return c, rest
}

func (a *app) diffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "List the files a container added (A), changed (C) or deleted (D) against its image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			changes, err := e.Diff(args[0])
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintf(a.streams.Stdout, "%s %s\n", c.Kind, c.Path)
			}
			return nil
		},
	}
}
