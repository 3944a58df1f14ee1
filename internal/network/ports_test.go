package network

import "testing"

func TestParsePublish(t *testing.T) {
	cases := []struct {
		in   string
		want []PortMap
	}{
		{"80", []PortMap{{ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []PortMap{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1:8080:80/udp", []PortMap{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "udp"}}},
		{"127.0.0.1::80", []PortMap{{HostIP: "127.0.0.1", ContainerPort: 80, Proto: "tcp"}}},
		{"9000-9001:80-81", []PortMap{{HostPort: 9000, ContainerPort: 80, Proto: "tcp"}, {HostPort: 9001, ContainerPort: 81, Proto: "tcp"}}},
	}
	for _, c := range cases {
		got, err := ParsePublish(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v", c.in, got)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %v want %v", c.in, got[i], c.want[i])
			}
		}
	}
	for _, bad := range []string{"", "0", "70000", "80/sctp", "a:b", "1.2.3:80:80", "9000-9002:80-81", "80-81", "1:2:3:4", "90-80:90-80"} {
		if _, err := ParsePublish(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClashes(t *testing.T) {
	a := PortMap{HostPort: 80, Proto: "tcp"}
	if !clashes(a, PortMap{HostIP: "127.0.0.1", HostPort: 80, Proto: "tcp"}) {
		t.Error("wildcard vs specific not a clash")
	}
	if clashes(a, PortMap{HostPort: 80, Proto: "udp"}) {
		t.Error("tcp vs udp clash")
	}
	if clashes(PortMap{HostIP: "127.0.0.1", HostPort: 80, Proto: "tcp"}, PortMap{HostIP: "127.0.0.2", HostPort: 80, Proto: "tcp"}) {
		t.Error("different IPs clash")
	}
}

// Two mappings of one container, or of two, may not share a host socket;
// 0.0.0.0 (or no IP) overlaps every address.
func TestPortTaken(t *testing.T) {
	pm := func(ip string, port uint16, proto string) PortMap {
		return PortMap{HostIP: ip, HostPort: port, ContainerPort: 80, Proto: proto}
	}
	self := &Live{ID: "a", Ports: []PortMap{pm("", 18181, "tcp")}}
	other := &Live{ID: "b", Name: "other", Ports: []PortMap{pm("127.0.0.1", 9000, "tcp")}}
	others := []*Live{self, other}
	for _, c := range []struct {
		p     PortMap
		taken bool
	}{
		{pm("", 18181, "tcp"), true},
		{pm("127.0.0.1", 18181, "tcp"), true},
		{pm("0.0.0.0", 18181, "tcp"), true},
		{pm("", 18181, "udp"), false},
		{pm("", 18182, "tcp"), false},
		{pm("0.0.0.0", 9000, "tcp"), true},
		{pm("127.0.0.2", 9000, "tcp"), false},
	} {
		err := portTaken(c.p, self, others)
		if (err != nil) != c.taken {
			t.Errorf("portTaken(%v) = %v, want taken %v", c.p, err, c.taken)
		}
	}
	if err := portTaken(pm("", 18181, "tcp"), self, others); err == nil ||
		err.Error() != "Bind for 0.0.0.0:18181 failed: port is already allocated" {
		t.Errorf("message: %v", err)
	}
}
