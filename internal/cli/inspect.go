package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/template"

	"github.com/cocin-dev/cocin/internal/engine"
	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/network"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/volume"
	"github.com/spf13/cobra"
)

// inspectTypes are the kinds of object `inspect` looks a name up as, in
// Docker's order: the first kind that has it wins.
var inspectTypes = []string{"container", "image", "network", "volume"}

func (a *app) inspectCommand() *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on containers, images, networks or volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ != "" && !slices.Contains(inspectTypes, typ) {
				return fmt.Errorf("unknown type: %q: must be one of %q", typ, inspectTypes)
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			return printInspect(a.streams.Stdout, a.streams.Stderr, format, args, func(ref string) (any, error) { return a.inspectObject(e, typ, ref) })
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format the output with a Go template, or 'json'")
	cmd.Flags().StringVar(&typ, "type", "", "only inspect objects of this type: container, image, network or volume")
	return cmd
}

// inspectObject finds ref as the first kind (or only kind typ) that has
// it. Only "not found" moves on to the next kind: an ambiguous container
// prefix is an error, not an image.
func (a *app) inspectObject(e *engine.Engine, typ, ref string) (any, error) {
	for _, t := range inspectTypes {
		if typ != "" && t != typ {
			continue
		}
		v, err := a.inspectAs(e, t, ref)
		if err == nil {
			return v, nil
		}
		if typ != "" || !isNotFound(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no such object: %s", ref)
}

func (a *app) inspectAs(e *engine.Engine, typ, ref string) (any, error) {
	switch typ {
	case "container":
		return e.Inspect(ref)
	case "image":
		return imageInspectOf(e, ref)
	case "network":
		st, err := e.Networks()
		if err != nil {
			return nil, err
		}
		return networkInspectView(st, ref)
	}
	return e.VolumeInspect(ref)
}

func isNotFound(err error) bool {
	for _, target := range []error{state.ErrNotFound, image.ErrNotFound, image.ErrInvalidRef, network.ErrNotFound, volume.ErrNotFound} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// printInspect prints what get finds for each ref, as Docker's inspect
// does: a JSON array (indented; compact with --format json), or each
// object through the template. A missing object or a template that fails
// on one is reported on stderr and that object prints nothing; any such
// failure exits 1. A template that does not parse exits 64.
func printInspect(stdout, stderr io.Writer, format string, refs []string, get func(string) (any, error)) error {
	var tmpl *template.Template
	if format != "" && format != "json" {
		t, err := template.New("").Funcs(templateFuncs).Option("missingkey=error").Parse(formatEscapes.Replace(format))
		if err != nil {
			return &codeError{code: 64, err: fmt.Errorf("template parsing error: %w", err)}
		}
		tmpl = t
	}
	items := []any{}
	var text bytes.Buffer
	failed := false
	for _, ref := range refs {
		v, err := get(ref)
		if err == nil && tmpl != nil {
			err = executeInspect(&text, tmpl, v)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cocin: %v\n", err)
			failed = true
			continue
		}
		items = append(items, v)
	}
	if err := writeInspect(stdout, format, tmpl != nil, items, text.Bytes()); err != nil {
		return err
	}
	if failed {
		return &codeError{code: 1}
	}
	return nil
}

func writeInspect(w io.Writer, format string, templated bool, items []any, text []byte) error {
	switch {
	case templated:
		if len(text) == 0 {
			text = []byte("\n") // as Docker: one empty line when nothing printed
		}
		_, err := w.Write(text)
		return err
	case format == "json":
		b, err := json.Marshal(items)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return engine.WriteJSON(w, items)
}

// executeInspect runs the template on v's JSON document, so that fields
// have their JSON (Docker's) names and a key that is not there is an
// error naming it; the output goes to w only if the whole run succeeds.
func executeInspect(w *bytes.Buffer, tmpl *template.Template, v any) error {
	doc, err := jsonDocument(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, doc); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	w.Write(buf.Bytes())
	w.WriteByte('\n')
	return nil
}

// jsonDocument is v as its JSON decodes into maps and lists, numbers kept
// as written (json.Number: no 1e+06 for a large integer).
func jsonDocument(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}
