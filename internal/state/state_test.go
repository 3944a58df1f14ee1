package state

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func newRecord(t *testing.T, s *Store, id, name string) *Container {
	t.Helper()
	if name != "" {
		if err := s.ReserveName(name, id); err != nil {
			t.Fatal(err)
		}
	}
	c := &Container{ID: id, Name: name, State: State{Status: Created}}
	if err := s.Create(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolve(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := newRecord(t, s, strings.Repeat("a", 63)+"1", "web")
	newRecord(t, s, strings.Repeat("a", 63)+"2", "")
	b := newRecord(t, s, "b"+strings.Repeat("0", 63), "db")
	for ref, want := range map[string]string{"web": a.ID, a.ID: a.ID, "b": b.ID, "db": b.ID, "/web": a.ID} {
		c, err := s.Resolve(ref)
		if err != nil || c.ID != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", ref, c, err, want)
		}
	}
	if _, err := s.Resolve("aaa"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("ambiguous prefix: got %v", err)
	}
	for _, ref := range []string{"nope", "c", ""} {
		if _, err := s.Resolve(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%q): got %v, want not found", ref, err)
		}
	}
}

func TestReserveNameRace(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, inUse := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.ReserveName("same", NewID())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrNameInUse):
				inUse++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || inUse != 19 {
		t.Fatalf("wins=%d inUse=%d", wins, inUse)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	s, _ := Open(t.TempDir())
	c := newRecord(t, s, NewID(), "x")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(c.ID, func(c *Container) error { c.State.ExitCode++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Get(c.ID)
	if err != nil || got.State.ExitCode != 20 {
		t.Fatalf("after 20 locked updates: %+v %v", got, err)
	}
	if err := s.Delete(got); err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveName("x", NewID()); err != nil {
		t.Fatalf("name not released: %v", err)
	}
	if _, err := s.Resolve(c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted record still found: %v", err)
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"a", "web-1", "my_app.v2"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"-a", "a b", "a/b", ""} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
	if id := NewID(); len(id) != 64 {
		t.Fatalf("id %q", id)
	}
	if err := ValidateName(RandomName(5)); err != nil {
		t.Fatal(err)
	}
}
