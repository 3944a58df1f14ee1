package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func (a *app) importCommand() *cobra.Command {
	var changes []string
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
			img, err := e.Images.Import(a.ctx(cmd), r, ref, changes)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.streams.Stdout, img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, ...)")
	return cmd
}

func (a *app) imagesCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "images [OPTIONS]",
		Aliases: []string{"image ls"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			imgs, err := e.Images.List()
			if err != nil {
				return err
			}
			if quiet {
				for _, img := range imgs {
					fmt.Fprintln(a.streams.Stdout, shortID(img.ID.Encoded()))
				}
				return nil
			}
			printImages(a.streams.Stdout, imgs)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	return cmd
}

func printImages(out io.Writer, imgs []*image.Image) {
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, img := range imgs {
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			i := strings.LastIndex(t, ":")
			repo, tag := t[:i], t[i+1:]
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", repo, tag, shortID(img.ID.Encoded()),
				units.HumanDuration(time.Since(img.Created))+" ago", units.HumanSizeWithPrecision(float64(img.Size), 3))
		}
	}
	w.Flush()
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
