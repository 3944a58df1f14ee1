package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) pullCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG]",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			var o image.RemoteOptions
			var pr *progress
			if !quiet {
				pr = newProgress(a.streams.Stdout)
				o.Progress = pr.event
			}
			_, d, err := e.Images.Pull(a.ctx(cmd), args[0], o)
			if pr != nil {
				pr.wait()
			}
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(a.streams.Stdout, "Digest: %s\n", d)
			}
			name, _ := image.NormalizeRef(args[0])
			fmt.Fprintln(a.streams.Stdout, name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the image name")
	return cmd
}

func (a *app) pushCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG] [DESTINATION]",
		Short: "Upload an image to a registry",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			dest := args[0]
			if len(args) == 2 {
				dest = args[1]
			}
			var o image.RemoteOptions
			if !quiet {
				fmt.Fprintf(a.streams.Stdout, "Pushing %s\n", dest)
				o.Progress = func(ev image.ProgressEvent) { // one line a layer, as docker
					fmt.Fprintf(a.streams.Stdout, "%s: %s\n", short(ev.Digest), ev.Status)
				}
			}
			d, err := e.Images.Push(a.ctx(cmd), args[0], dest, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.streams.Stdout, "digest: %s\n", d)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digest")
	return cmd
}

func (a *app) saveCommand() *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			if output == "" {
				if term.IsTerminal(int(a.streams.Stdout.Fd())) {
					return fmt.Errorf("save: refusing to write a tar archive to a terminal: use -o or redirect")
				}
				return e.Images.Save(a.ctx(cmd), a.streams.Stdout, args, format)
			}
			return saveToFile(e, cmd, a, output, args, format)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file instead of STDOUT")
	cmd.Flags().StringVar(&format, "format", image.FormatDocker, "archive format: docker-archive or oci-archive")
	return cmd
}

// saveToFile writes the archive to a temp file renamed into place, so a
// failed save leaves no truncated archive under the user's name.
func saveToFile(e *engine.Engine, cmd *cobra.Command, a *app, output string, args []string, format string) error {
	f, err := os.CreateTemp(dirOf(output), ".cocin-save-")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer os.Remove(f.Name())
	err = e.Images.Save(a.ctx(cmd), f, args, format)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), output)
	}
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1]
		}
	}
	return "."
}

func (a *app) loadCommand() *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a docker-archive or OCI archive (from STDIN by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			var r io.Reader = a.streams.Stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("load: %w", err)
				}
				defer f.Close()
				r = f
			}
			loaded, err := e.Images.Load(a.ctx(cmd), r, nil)
			if !quiet {
				printLoaded(a.streams.Stdout, loaded)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from a tar archive file instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress the load output")
	return cmd
}

func printLoaded(out io.Writer, loaded []image.Loaded) {
	for _, l := range loaded {
		if len(l.Tags) == 0 {
			fmt.Fprintf(out, "Loaded image ID: %s\n", l.Image.ID)
		}
		for _, t := range l.Tags {
			fmt.Fprintf(out, "Loaded image: %s\n", t)
		}
	}
}

func (a *app) tagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			return e.Images.Tag(args[0], args[1])
		},
	}
}

func (a *app) commitCommand() *cobra.Command {
	var o engine.CommitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			if len(args) == 2 {
				o.Ref = args[1]
			}
			img, err := e.Commit(a.ctx(cmd), args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.streams.Stdout, img.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Comment, "message", "m", "", "commit message")
	f.StringVarP(&o.Author, "author", "a", "", "author (e.g. \"Jane <jane@example.com>\")")
	f.StringArrayVarP(&o.Changes, "change", "c", nil, "apply a Dockerfile instruction to the image config")
	f.BoolVarP(&o.Pause, "pause", "p", true, "pause the container while committing")
	return cmd
}

func (a *app) exportCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			if output == "" {
				return e.Export(args[0], a.streams.Stdout)
			}
			f, err := os.Create(output)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			err = e.Export(args[0], f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(output)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file instead of STDOUT")
	return cmd
}
