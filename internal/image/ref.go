package image

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidRef reports a malformed image reference.
var ErrInvalidRef = errors.New("invalid reference format")

const (
	defaultDomain = "docker.io"
	officialRepo  = "library/"
	defaultTag    = "latest"
	maxNameLen    = 255
	maxTagLen     = 128
)

// reference is a parsed "[domain/]path[:tag]" image name in its full
// form: domain "docker.io" and path "library/busybox" for "busybox".
type reference struct {
	domain, path, tag string
}

// String returns the full form, the tag table's key.
func (r reference) String() string { return r.repo() + ":" + r.tag }

func (r reference) repo() string { return r.domain + "/" + r.path }

// Familiar returns the short form Docker shows: "busybox:latest" for
// docker.io/library/busybox:latest, "me/app:1" for docker.io/me/app:1.
func (r reference) Familiar() string {
	return familiarRepo(r.repo()) + ":" + r.tag
}

func familiarRepo(repo string) string {
	p, ok := strings.CutPrefix(repo, defaultDomain+"/")
	if !ok {
		return repo
	}
	if rest, ok := strings.CutPrefix(p, officialRepo); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return p
}

// familiar turns a full tag-table key back into its short form.
func familiar(full string) string {
	i := strings.LastIndex(full, ":")
	return familiarRepo(full[:i]) + full[i:]
}

// NormalizeRef validates a user's image reference and returns the short
// "name:tag" form Docker displays (":latest" added when no tag is given).
func NormalizeRef(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return r.Familiar(), nil
}

// parseRef parses a reference the way Docker's distribution/reference
// does for names and tags. Digest references are refused for now.
func parseRef(s string) (reference, error) {
	bad := func(why string) (reference, error) {
		return reference{}, fmt.Errorf("%w: %q: %s", ErrInvalidRef, s, why)
	}
	if s == "" {
		return bad("empty reference")
	}
	if strings.Contains(s, "@") {
		return bad("digest references are not supported")
	}
	name, tag := s, defaultTag
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		name, tag = s[:i], s[i+1:]
		if !validTag(tag) {
			return bad("a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")
		}
	}
	if len(name) > maxNameLen {
		return bad("name longer than 255 characters")
	}
	r := reference{domain: defaultDomain, path: name, tag: tag}
	if i := strings.Index(name, "/"); i >= 0 && isDomain(name[:i]) {
		r.domain, r.path = name[:i], name[i+1:]
		if !validDomain(r.domain) {
			return bad("invalid registry host")
		}
		if r.domain == "index.docker.io" {
			r.domain = defaultDomain
		}
	}
	if strings.ToLower(r.path) != r.path {
		return bad("repository name must be lowercase")
	}
	for _, c := range strings.Split(r.path, "/") {
		if !validComponent(c) {
			return bad(fmt.Sprintf("invalid repository name component %q", c))
		}
	}
	if r.domain == defaultDomain && !strings.Contains(r.path, "/") {
		r.path = officialRepo + r.path
	}
	return r, nil
}

// isDomain reports whether a name's first component names a registry,
// by Docker's rule: it holds a dot or a port, or is localhost.
func isDomain(c string) bool {
	return strings.ContainsAny(c, ".:") || c == "localhost"
}

func validDomain(d string) bool {
	host, port, hasPort := strings.Cut(d, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, ch := range label {
			if !isAlnum(ch) && ch != '-' {
				return false
			}
		}
	}
	return true
}

// validComponent checks one path component against
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*.
func validComponent(c string) bool {
	if c == "" || !isLowerAlnum(rune(c[0])) || !isLowerAlnum(rune(c[len(c)-1])) {
		return false
	}
	for i := 0; i < len(c); {
		if isLowerAlnum(rune(c[i])) {
			i++
			continue
		}
		j := i
		for j < len(c) && !isLowerAlnum(rune(c[j])) {
			j++
		}
		if sep := c[i:j]; sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
			return false
		}
		i = j
	}
	return true
}

func validTag(t string) bool {
	if t == "" || len(t) > maxTagLen || t[0] == '.' || t[0] == '-' {
		return false
	}
	for _, ch := range t {
		if !isAlnum(ch) && ch != '_' && ch != '.' && ch != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(ch rune) bool { return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' }

func isAlnum(ch rune) bool { return isLowerAlnum(ch) || ch >= 'A' && ch <= 'Z' }

func isHex(s string) bool {
	for _, ch := range s {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
			return false
		}
	}
	return s != ""
}
