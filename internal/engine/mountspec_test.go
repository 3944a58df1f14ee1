package engine

import (
	"testing"
)

func TestParseVolumeFlag(t *testing.T) {
	cases := []struct {
		in   string
		want mountReq
		bad  bool
	}{
		{in: "/ctr", want: mountReq{Type: "volume", Target: "/ctr"}},
		{in: "vol:/ctr:ro", want: mountReq{Type: "volume", Source: "vol", Target: "/ctr", ReadOnly: true, CreateHost: true, Mode: "ro"}},
		{in: "/h:/c:rw,rslave", want: mountReq{Type: "bind", Source: "/h", Target: "/c", Propagation: "rslave", CreateHost: true, Mode: "rw,rslave"}},
		{in: "vol:/c:nocopy", want: mountReq{Type: "volume", Source: "vol", Target: "/c", NoCopy: true, CreateHost: true, Mode: "nocopy"}},
		{in: "/h:/c:nocopy", bad: true},
		{in: "vol:/c:rslave", bad: true},
		{in: "a:b:c:d", bad: true},
		{in: "vol:rel", bad: true},
		{in: "/h:/", bad: true},
		{in: ":/c", bad: true},
		{in: "/h:/c:ro,rw", bad: true},
		{in: "/h:/c:rshared,rslave", bad: true},
		{in: "/h:/c:z,Z", bad: true},
		{in: "/h:/c:ro,z,rslave", want: mountReq{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, Propagation: "rslave"}},
	}
	for _, c := range cases {
		got, err := parseVolumeFlag(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v, want error %v", c.in, err, c.bad)
			continue
		}
		if c.bad {
			continue
		}
		if got.Type != c.want.Type || got.Source != c.want.Source || got.Target != c.want.Target ||
			got.ReadOnly != c.want.ReadOnly || got.Propagation != c.want.Propagation || got.NoCopy != c.want.NoCopy {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	r, err := parseMountFlag("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777,ro")
	if err != nil || r.Type != "tmpfs" || r.Target != "/t" || !r.ReadOnly || len(r.Options) != 2 {
		t.Errorf("tmpfs --mount: %+v %v", r, err)
	}
	r, err = parseMountFlag("type=bind,source=/h,target=/c,readonly=false,bind-propagation=shared")
	if err != nil || r.ReadOnly || r.Propagation != "shared" || r.CreateHost {
		t.Errorf("bind --mount: %+v %v", r, err)
	}
	for _, bad := range []string{"type=bind,target=/c", "type=bind,source=rel,target=/c", "type=tmpfs,src=x,dst=/t",
		"type=volume,target=/c,bind-propagation=shared", "target=/c,what=1", "type=tmpfs,dst=/t,tmpfs-mode=9z",
		"type=volume,src=v", "type=volume,target=/c,tmpfs-size=1m", "type=volume,target=/c,readonly=maybe"} {
		if _, err := parseMountFlag(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseTmpfsFlag(t *testing.T) {
	if r, err := parseTmpfsFlag("/run:rw,exec,size=10%,uid=1000"); err != nil || len(r.Options) != 4 {
		t.Errorf("--tmpfs: %+v %v", r, err)
	}
	for _, bad := range []string{"rel", "/x:size=lots", "/x:mode=999", "/x:foo", "/x:data=journal"} {
		if _, err := parseTmpfsFlag(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestDedupTargets(t *testing.T) {
	own := []mountReq{{Target: "/a"}, {Target: "/a/"}}
	if _, err := dedupTargets(own, 2); err == nil {
		t.Errorf("two own mounts on /a: want an error")
	}
	got, err := dedupTargets([]mountReq{{Target: "/a", Source: "mine"}, {Target: "/a", Source: "inherited"}}, 1)
	if err != nil || len(got) != 1 || got[0].Source != "mine" {
		t.Errorf("an inherited mount must give way: %+v %v", got, err)
	}
}
