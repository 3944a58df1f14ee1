package trace

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTreeAndDisabled(t *testing.T) {
	root := NewRoot("cocin run")
	ctx := WithSpan(context.Background(), root)
	ctx2, end := Step(ctx, "create")
	_, end2 := Step(ctx2, "pivot_root")
	end2()
	end()
	root.Add(&Span{Name: "reported by init"})
	root.End()
	var b bytes.Buffer
	root.Print(&b)
	out := b.String()
	for _, want := range []string{"cocin run", "├─ create", "│  └─ pivot_root", "└─ reported by init"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// Disabled: no span in the context, nothing recorded, no panic.
	c, e := Step(context.Background(), "x")
	e()
	if FromContext(c) != nil {
		t.Fatal("span created while tracing is off")
	}
	var nilSpan *Span
	nilSpan.Print(&b)
	nilSpan.End()
}
