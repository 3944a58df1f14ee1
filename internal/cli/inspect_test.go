package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cocin-dev/cocin/internal/state"
	"github.com/spf13/cobra"
)

// inspectRun runs printInspect over two known objects, "a" and "b".
func inspectRun(t *testing.T, format string, refs ...string) (stdout, stderr string, err error) {
	t.Helper()
	objs := map[string]any{
		"a": map[string]any{"Id": "a1", "State": map[string]any{"Pid": 1234567}},
		"b": struct{ Id string }{"b2"},
	}
	get := func(ref string) (any, error) {
		if v, ok := objs[ref]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("no such object: %s", ref)
	}
	var out, errOut strings.Builder
	err = printInspect(&out, &errOut, format, refs, get)
	return out.String(), errOut.String(), err
}

func exitCodeOf(err error) int {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return -1
}

// TestInspectTemplateMissingField: a field the object lacks fails that
// object (nothing printed for it, the field named, exit 1), the others
// still print; numbers keep their digits.
func TestInspectTemplateMissingField(t *testing.T) {
	out, _, err := inspectRun(t, "{{.State.Pid}}", "a")
	if out != "1234567\n" || err != nil {
		t.Fatalf("{{.State.Pid}}: %q %v", out, err)
	}
	out, errOut, err := inspectRun(t, "{{.Id}} {{.Nope}}", "a", "b")
	if out != "\n" || exitCodeOf(err) != 1 || strings.Count(errOut, `"Nope"`) != 2 {
		t.Errorf("missing field: stdout %q, stderr %q, %v", out, errOut, err)
	}
	out, _, err = inspectRun(t, "{{.Id}}", "a", "nosuch", "b")
	if out != "a1\nb2\n" || exitCodeOf(err) != 1 {
		t.Errorf("one missing object: %q %v", out, err)
	}
	if _, _, err := inspectRun(t, "{{.Id", "a"); exitCodeOf(err) != 64 {
		t.Errorf("a template that does not parse: %v, want exit 64 (Docker's)", err)
	}
}

// TestInspectJSONOutput: indented by default, compact with --format json,
// "[]" when nothing was found.
func TestInspectJSONOutput(t *testing.T) {
	if out, _, _ := inspectRun(t, "", "b"); out != "[\n    {\n        \"Id\": \"b2\"\n    }\n]\n" {
		t.Errorf("default: %q", out)
	}
	if out, _, _ := inspectRun(t, "json", "b"); out != `[{"Id":"b2"}]`+"\n" {
		t.Errorf("json: %q", out)
	}
	out, errOut, err := inspectRun(t, "", "nosuch")
	if out != "[]\n" || !strings.Contains(errOut, "no such object: nosuch") || exitCodeOf(err) != 1 {
		t.Errorf("nothing found: %q %q %v", out, errOut, err)
	}
}

func TestIsNotFound(t *testing.T) {
	if !isNotFound(fmt.Errorf("%w: x", state.ErrNotFound)) || isNotFound(errors.New("ambiguous prefix")) {
		t.Fatal("isNotFound")
	}
}

// TestErrorExitCode: failures exit 1, as Docker's client's, but run's and
// create's own are 125, and a bad flag is 125 everywhere.
func TestErrorExitCode(t *testing.T) {
	run := engineErrorsExit125(&cobra.Command{Use: "run"})[0]
	top := &cobra.Command{Use: "top"}
	network := &cobra.Command{Use: "network"}
	ls := &cobra.Command{Use: "ls"}
	network.AddCommand(ls)
	cases := []struct {
		cmd  *cobra.Command
		err  error
		want int
	}{
		{top, errors.New("no such container: x"), 1},
		{ls, errors.New("no such network"), 1},
		{top, flagError{errors.New("unknown flag: --x")}, 125},
		{run, errors.New("no such image"), 125},
		{nil, errors.New("x"), 125},
	}
	for _, c := range cases {
		if got := errorExitCode(c.cmd, c.err); got != c.want {
			t.Errorf("%v: %d, want %d", c.err, got, c.want)
		}
	}
}

// TestFlagErrorsAreMarked: cobra's flag errors reach Main as flagError
// (exit 125), for subcommands too.
func TestFlagErrorsAreMarked(t *testing.T) {
	root := (&app{}).rootCommand()
	root.SetArgs([]string{"stop", "--no-such-flag", "x"})
	root.SetOut(&strings.Builder{})
	cmd, err := root.ExecuteC()
	if !errors.As(err, new(flagError)) || errorExitCode(cmd, err) != 125 {
		t.Fatalf("%T %v", err, err)
	}
}
