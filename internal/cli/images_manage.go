package cli

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

// imageCommand groups the image subcommands as `docker image` does.
func (a *app) imageCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Manage images", Args: cobra.NoArgs}
	ls := a.imagesCommand()
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"list"}
	rm := a.rmiCommand()
	rm.Use = "rm [OPTIONS] IMAGE [IMAGE...]"
	cmd.AddCommand(ls, rm, a.imageInspectCommand(), a.imagePruneCommand(), a.historyCommand(),
		a.pullCommand(), a.pushCommand(), a.saveCommand(), a.loadCommand(), a.tagCommand(), a.importCommand())
	return cmd
}

// imageRow is what `images --format` templates see.
type imageRow struct {
	ID, Repository, Tag, Digest, CreatedSince, CreatedAt, Size string
}

func imageRows(imgs []*image.Image, noTrunc bool) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		id := img.ID.String()
		if !noTrunc {
			id = shortID(img.ID.Encoded())
		}
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			i := strings.LastIndex(t, ":")
			rows = append(rows, imageRow{ID: id, Repository: t[:i], Tag: t[i+1:], Digest: repoDigest(img, t[:i]),
				CreatedSince: units.HumanDuration(time.Since(img.Created)) + " ago",
				CreatedAt:    img.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
				Size:         units.HumanSizeWithPrecision(float64(img.Size), 3)})
		}
	}
	return rows
}

// repoDigest is the DIGEST column: what the registry repository serves
// for the image, "<none>" for an image never pulled from or pushed to it.
func repoDigest(img *image.Image, repo string) string {
	d := "<none>"
	for _, rd := range img.RepoDigests {
		if r, dg, _ := strings.Cut(rd, "@"); r == repo {
			d = dg // the newest if several
		}
	}
	return d
}

func printImageTable(out io.Writer, rows []imageRow, digests bool) {
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if digests {
		fmt.Fprintln(w, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
	} else {
		fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, r := range rows {
		if digests {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size)
		} else {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
		}
	}
	w.Flush()
}

// filterImages applies `images --filter`: dangling, reference (a glob
// on repo or repo:tag), label (key or key=value), before and since.
func filterImages(e *engine.Engine, imgs []*image.Image, filters []string) ([]*image.Image, error) {
	out := imgs
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad filter %q: want key=value", f)
		}
		keep, err := imageFilter(e, k, v)
		if err != nil {
			return nil, err
		}
		var next []*image.Image
		for _, img := range out {
			if !keep(img) {
				continue
			}
			if k == "reference" { // as Docker: show only the matching tags
				cp := *img
				cp.RepoTags = slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return !refMatches(v, t) })
				img = &cp
			}
			next = append(next, img)
		}
		out = next
	}
	return out, nil
}

func imageFilter(e *engine.Engine, k, v string) (func(*image.Image) bool, error) {
	switch k {
	case "dangling":
		want := v == "true" || v == "1"
		return func(img *image.Image) bool { return (len(img.RepoTags) == 0) == want }, nil
	case "reference":
		return func(img *image.Image) bool {
			return slices.ContainsFunc(img.RepoTags, func(t string) bool { return refMatches(v, t) })
		}, nil
	case "label":
		lk, lv, hasV := strings.Cut(v, "=")
		return func(img *image.Image) bool {
			got, ok := img.Config.Config.Labels[lk]
			return ok && (!hasV || got == lv)
		}, nil
	case "before", "since":
		ref, err := e.Images.Get(v)
		if err != nil {
			return nil, err
		}
		return func(img *image.Image) bool {
			if k == "before" {
				return img.Created.Before(ref.Created)
			}
			return img.Created.After(ref.Created)
		}, nil
	}
	return nil, fmt.Errorf("invalid filter %q", k)
}

// refMatches matches a reference filter's glob against "repo:tag" or
// against the repository alone.
func refMatches(pattern, tag string) bool {
	if m, _ := path.Match(pattern, tag); m {
		return true
	}
	m, _ := path.Match(pattern, tag[:strings.LastIndex(tag, ":")])
	return m
}

func (a *app) historyCommand() *cobra.Command {
	var noTrunc, quiet, human bool
	var format string
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			img, err := e.Images.Get(args[0])
			if err != nil {
				return err
			}
			rows := historyRows(e.Images.History(img), noTrunc, human)
			if format != "" && !quiet {
				return printTemplate(a.streams.Stdout, format, rows, func(r historyRow) any { return r }, historyHeaders)
			}
			printHistory(a.streams.Stdout, rows, quiet)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	cmd.Flags().BoolVarP(&human, "human", "H", true, "print sizes and dates in human readable format")
	cmd.Flags().StringVar(&format, "format", "", "format the output with a Go template (fields as Docker's: .ID, .CreatedSince, .CreatedAt, .CreatedBy, .Size, .Comment) or json")
	return cmd
}

// historyRow is one line of `history`, as --format templates see it.
type historyRow struct {
	ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string
}

func historyRows(hs []image.HistoryEntry, noTrunc, human bool) []historyRow {
	rows := make([]historyRow, 0, len(hs))
	for _, h := range hs {
		r := historyRow{ID: truncID(h.ID, noTrunc), CreatedAt: h.Created.Format(time.RFC3339),
			CreatedBy: h.CreatedBy, Size: fmt.Sprint(h.Size), Comment: h.Comment}
		if !noTrunc && len(r.CreatedBy) > 45 {
			r.CreatedBy = r.CreatedBy[:44] + "…"
		}
		r.CreatedSince = r.CreatedAt
		if human {
			r.CreatedSince = units.HumanDuration(time.Since(h.Created)) + " ago"
			r.Size = units.HumanSizeWithPrecision(float64(h.Size), 3)
		}
		rows = append(rows, r)
	}
	return rows
}

func printHistory(out io.Writer, rows []historyRow, quiet bool) {
	if quiet {
		for _, r := range rows {
			fmt.Fprintln(out, r.ID)
		}
		return
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment)
	}
	w.Flush()
}

func truncID(id string, noTrunc bool) string {
	if noTrunc || id == "<missing>" {
		return id
	}
	return shortID(digest.Digest(id).Encoded())
}

func (a *app) imageInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return printInspect(a.streams.Stdout, a.streams.Stderr, format, args, func(ref string) (any, error) { return imageInspectOf(e, ref) })
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format the output with a Go template")
	return cmd
}

// imageInspect is Docker's `image inspect` shape.
type imageInspect struct {
	Id           string // Docker's spelling, which --format templates use
	RepoTags     []string
	RepoDigests  []string
	Parent       string
	Comment      string
	Created      string
	Author       string
	Config       any
	Architecture string
	Os           string
	Size         int64
	RootFS       struct {
		Type   string
		Layers []string
	}
}

// imageInspectOf is image ref in Docker's `image inspect` shape.
func imageInspectOf(e *engine.Engine, ref string) (any, error) {
	img, err := e.Images.Get(ref)
	if err != nil {
		return nil, err
	}
	return inspectView(img), nil
}

func inspectView(img *image.Image) imageInspect {
	v := imageInspect{Id: img.ID.String(), RepoTags: img.RepoTags, RepoDigests: append([]string{}, img.RepoDigests...),
		Created: img.Created.Format(time.RFC3339Nano), Author: img.Config.Author, Config: img.Config.Config,
		Architecture: img.Config.Architecture, Os: img.Config.OS, Size: img.Size}
	if v.RepoTags == nil {
		v.RepoTags = []string{}
	}
	if n := len(img.Config.History); n > 0 {
		v.Comment = img.Config.History[n-1].Comment
	}
	v.RootFS.Type = "layers"
	for _, d := range img.DiffIDs {
		v.RootFS.Layers = append(v.RootFS.Layers, d.String())
	}
	return v
}

func (a *app) imagePruneCommand() *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			deleted, freed, err := e.PruneImages(all)
			ids := make([]string, len(deleted))
			for i, d := range deleted {
				ids[i] = d.String()
			}
			printDeleted(a.streams.Stdout, "Deleted Images:", "deleted: ", ids)
			printReclaimed(a.streams.Stdout, freed)
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all images not used by a container, not only untagged ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation (cocin never prompts)")
	return cmd
}
