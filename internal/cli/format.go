package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
)

// formatEscapes are the two-character sequences Docker turns into the
// characters before parsing a --format, so that a shell's single quotes
// can carry a tab or a newline.
var formatEscapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// Column titles of `--format 'table ...'`, by field, as Docker prints
// them. A field missing from a command's map gets its name in capitals.
var (
	psHeaders = map[string]string{
		"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
		"CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
		"Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
		"LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
	}
	imageHeaders = map[string]string{
		"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
		"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
		"Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
	}
	historyHeaders = map[string]string{
		"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
		"Size": "SIZE", "Comment": "COMMENT",
	}
	volumeHeaders = map[string]string{
		"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
		"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED",
	}
	networkHeaders = map[string]string{
		"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
		"Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
	}
)

// printTemplate runs a Docker-style --format template for each item;
// "table ..." prints a header of the columns' titles (headers, by field
// name), "json" one JSON object per line.
func printTemplate[T any](out io.Writer, format string, items []T, view func(T) any, headers map[string]string) error {
	if format == "json" {
		format = "{{json .}}"
	}
	table := strings.HasPrefix(format, "table ")
	if table {
		format = strings.TrimPrefix(format, "table ")
	}
	format = formatEscapes.Replace(format)
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("invalid --format template: %w", err)
	}
	var w io.Writer = out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
		w = tw
		fmt.Fprintln(w, headerFromTemplate(format, headers))
	}
	for _, it := range items {
		if err := tmpl.Execute(w, view(it)); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

var templateFuncs = template.FuncMap{
	"json":  func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"upper": strings.ToUpper, "lower": strings.ToLower,
	"join": joinAny, "title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// joinAny is Docker's join, also for the []any lists of inspect's JSON view.
func joinAny(v any, sep string) string {
	switch l := v.(type) {
	case []string:
		return strings.Join(l, sep)
	case []any:
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, sep)
	}
	return fmt.Sprint(v)
}

var templateField = regexp.MustCompile(`\.([A-Za-z_][A-Za-z0-9_]*)`)

// headerFromTemplate turns "{{.ID}}\t{{ .Names }}" into "CONTAINER
// ID\tNAMES": each action becomes the title of the first field it names
// (so {{json .Labels}} is LABELS), the text between actions stays.
func headerFromTemplate(f string, headers map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(f, "{{")
		if i < 0 {
			b.WriteString(f)
			break
		}
		b.WriteString(f[:i])
		j := strings.Index(f[i:], "}}")
		if j < 0 {
			break
		}
		if m := templateField.FindStringSubmatch(f[i+2 : i+j]); m != nil {
			title, ok := headers[m[1]]
			if !ok {
				title = strings.ToUpper(m[1])
			}
			b.WriteString(title)
		}
		f = f[i+j+2:]
	}
	return b.String()
}
