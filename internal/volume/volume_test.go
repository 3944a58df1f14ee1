package volume

import (
	"errors"
	"testing"
)

func TestStore(t *testing.T) {
	s := Open(t.TempDir())
	v, err := s.Create("data", map[string]string{"a": "b"})
	if err != nil || v.Name != "data" || v.Labels["a"] != "b" {
		t.Fatalf("create: %+v %v", v, err)
	}
	if _, err := s.Create("data", nil); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	anon, err := s.Create(NewAnonymousName(), map[string]string{AnonymousLabel: ""})
	if err != nil || !anon.Anonymous() {
		t.Fatalf("anonymous: %+v %v", anon, err)
	}
	vs, err := s.List()
	if err != nil || len(vs) != 2 {
		t.Fatalf("list: %d %v", len(vs), err)
	}
	if err := s.Remove("data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after remove: %v", err)
	}
	if err := s.Remove("data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"ab", "a.b-c_d", "0x"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "-a", ".a", "a/b", "../x", "a b"} {
		if ValidateName(bad) == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
