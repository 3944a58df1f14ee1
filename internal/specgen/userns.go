package specgen

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Files that grant subordinate ids; the COCIN_SUBUID_FILE and
// COCIN_SUBGID_FILE variables point elsewhere (tests, hosts without them).
func subIDFiles() (string, string) {
	u, g := os.Getenv("COCIN_SUBUID_FILE"), os.Getenv("COCIN_SUBGID_FILE")
	if u == "" {
		u = "/etc/subuid"
	}
	if g == "" {
		g = "/etc/subgid"
	}
	return u, g
}

// RemapIDs returns the --userns-remap mapping of USER[:GROUP]: container
// ids 0.. map, range after range, onto the subordinate ids /etc/subuid and
// /etc/subgid grant to the user (and group), as Docker does.
func RemapIDs(spec string) (uids, gids []specs.LinuxIDMapping, err error) {
	name, group, _ := strings.Cut(spec, ":")
	if group == "" {
		group = name
	}
	uf, gf := subIDFiles()
	if uids, err = subIDRanges(uf, name, lookupUID); err != nil {
		return nil, nil, err
	}
	if gids, err = subIDRanges(gf, group, lookupGID); err != nil {
		return nil, nil, err
	}
	return uids, gids, nil
}

func lookupUID(name string) string {
	if u, err := user.Lookup(name); err == nil {
		return u.Uid
	}
	return ""
}

func lookupGID(name string) string {
	if g, err := user.LookupGroup(name); err == nil {
		return g.Gid
	}
	return ""
}

// subIDRanges reads "name:start:count" lines, matching the name or its
// numeric id.
func subIDRanges(file, name string, numeric func(string) string) ([]specs.LinuxIDMapping, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("userns-remap: %w", err)
	}
	defer f.Close()
	id := numeric(name)
	var out []specs.LinuxIDMapping
	next := uint32(0)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || (p[0] != name && p[0] != id) {
			continue
		}
		start, err1 := strconv.ParseUint(p[1], 10, 32)
		count, err2 := strconv.ParseUint(p[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			return nil, fmt.Errorf("userns-remap: %s: bad line %q", file, sc.Text())
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: next, HostID: uint32(start), Size: uint32(count)})
		next += uint32(count)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("userns-remap: %s grants no ids to %q", file, name)
	}
	return out, nil
}

// applyUserns puts the container in a new user namespace with the
// mapping. "" and "host" leave it in the host's.
func applyUserns(s *specs.Spec, remap string) error {
	if remap == "" || remap == "host" {
		return nil
	}
	uids, gids, err := RemapIDs(remap)
	if err != nil {
		return err
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings, s.Linux.GIDMappings = uids, gids
	return nil
}
