package nsenter

import "testing"

func TestBootstrap(t *testing.T) {
	b, err := Bootstrap([]Namespace{{"user", "/proc/self/fd/7"}, {"mnt", "/proc/1/ns/mnt"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ns user /proc/self/fd/7\nns mnt /proc/1/ns/mnt\nwait\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	for _, bad := range []Namespace{{"bogus", "/x"}, {"net", ""}, {"net", "/a b"}, {"net", "/a\nns mnt /x"}} {
		if _, err := Bootstrap([]Namespace{bad}, false); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
