package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) importCommand() *cobra.Command {
	var changes []string
	var message string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
		Short: "Import a root filesystem tarball as an image",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			var r io.Reader = a.streams.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			img, err := e.Images.Import(a.ctx(cmd), r, ref, changes, message)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.streams.Stdout, img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, ...)")
	cmd.Flags().StringVarP(&message, "message", "m", "", "set the commit message (the history comment) of the imported image")
	return cmd
}

func (a *app) imagesCommand() *cobra.Command {
	var o struct {
		all, quiet, digests, noTrunc bool
		filters                      []string
		format                       string
	}
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			imgs, err := e.Images.List()
			if err != nil {
				return err
			}
			filters := o.filters
			if len(args) == 1 {
				filters = append(filters, "reference="+args[0])
			}
			if imgs, err = filterImages(e, imgs, filters); err != nil {
				return err
			}
			if o.quiet {
				for _, img := range imgs {
					fmt.Fprintln(a.streams.Stdout, truncID(img.ID.String(), o.noTrunc))
				}
				return nil
			}
			rows := imageRows(imgs, o.noTrunc)
			if o.format != "" {
				return printTemplate(a.streams.Stdout, o.format, rows, func(r imageRow) any { return r }, imageHeaders)
			}
			printImageTable(a.streams.Stdout, rows, o.digests)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all images (cocin keeps no intermediate images, so this is every image)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&o.digests, "digests", false, "show manifest digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter output: dangling=, reference=, label=, before=, since=")
	f.StringVar(&o.format, "format", "", "format the output with a Go template")
	return cmd
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (a *app) rmiCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			failed := 0
			for _, ref := range args {
				untagged, deleted, err := e.RemoveImage(ref, force)
				for _, u := range untagged {
					fmt.Fprintf(a.streams.Stdout, "Untagged: %s\n", u)
				}
				for _, d := range deleted {
					fmt.Fprintf(a.streams.Stdout, "Deleted: %s\n", d)
				}
				if err != nil {
					fmt.Fprintf(a.streams.Stderr, "cocin: %v\n", err)
					failed++
				}
			}
			if failed > 0 {
				return &codeError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove the image even if a container uses it")
	return cmd
}
