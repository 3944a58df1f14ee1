package specgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// User is a resolved process identity.
type User struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser turns a Docker --user value ("", "uid", "name", "uid:gid",
// "name:group") into ids, reading the image's /etc/passwd and /etc/group
// inside rootfs (symlinks resolved within it). Supplementary groups are the
// groups that list the user, as Docker does, and only when no group is
// given ("name:group" means that group alone).
func ResolveUser(rootfs, spec string) (*User, error) {
	if spec == "" {
		spec = "0"
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return nil, fmt.Errorf("invalid user %q", spec)
	}
	users, _ := readPasswd(rootfs)
	groups, _ := readGroup(rootfs)

	u := &User{Home: "/"}
	var name string
	if n, err := parseID(userPart); err == nil {
		u.UID = n
		for _, e := range users {
			if e.uid == n {
				name, u.GID, u.Home = e.name, e.gid, e.home
				break
			}
		}
	} else {
		found := false
		for _, e := range users {
			if e.name == userPart {
				name, u.UID, u.GID, u.Home, found = e.name, e.uid, e.gid, e.home, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
	}
	if hasGroup {
		gid, err := resolveGroup(groupPart, groups)
		if err != nil {
			return nil, err
		}
		u.GID = gid
	}
	if name != "" && !hasGroup {
		for _, g := range groups {
			for _, m := range g.members {
				if m == name && g.gid != u.GID {
					u.Groups = append(u.Groups, g.gid)
				}
			}
		}
	}
	if u.Home == "" {
		u.Home = "/"
	}
	return u, nil
}

func resolveGroup(g string, groups []groupEntry) (uint32, error) {
	if n, err := parseID(g); err == nil {
		return n, nil
	}
	for _, e := range groups {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", g)
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	return uint32(n), nil
}

func openInRoot(rootfs, path string) (*os.File, error) {
	p, err := securejoin.SecureJoin(rootfs, path)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func readPasswd(rootfs string) ([]passwdEntry, error) {
	f, err := openInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []passwdEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Split(sc.Text(), ":")
		if len(fl) < 7 || strings.HasPrefix(fl[0], "#") {
			continue
		}
		uid, err1 := parseID(fl[2])
		gid, err2 := parseID(fl[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: fl[0], uid: uid, gid: gid, home: fl[5]})
	}
	return out, sc.Err()
}

func readGroup(rootfs string) ([]groupEntry, error) {
	f, err := openInRoot(rootfs, "/etc/group")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []groupEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Split(sc.Text(), ":")
		if len(fl) < 4 || strings.HasPrefix(fl[0], "#") {
			continue
		}
		gid, err := parseID(fl[2])
		if err != nil {
			continue
		}
		var members []string
		if fl[3] != "" {
			members = strings.Split(fl[3], ",")
		}
		out = append(out, groupEntry{name: fl[0], gid: gid, members: members})
	}
	return out, sc.Err()
}
