package image

import (
	"fmt"
	"strings"
)

// NormalizeRef turns a user's image name into the "name:tag" key of the
// tag table: ":latest" is added when no tag is given, and Docker Hub's
// "docker.io/library/" prefix is dropped for display, as Docker does.
func NormalizeRef(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty image reference")
	}
	if strings.Contains(ref, "@") {
		return "", fmt.Errorf("invalid reference %q: digests are not supported here", ref)
	}
	name, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	name = strings.TrimPrefix(name, "docker.io/")
	name = strings.TrimPrefix(name, "library/")
	if err := validateName(name); err != nil {
		return "", fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	if err := validateTag(tag); err != nil {
		return "", fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	return name + ":" + tag, nil
}

// validateName checks a repository path: lowercase components of
// [a-z0-9] with single separators (., _, __, -), joined by "/"; the first
// component may be a registry host (with a port).
func validateName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("repository name must be 1 to 255 characters")
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if i == 0 && len(parts) > 1 && (strings.ContainsAny(p, ".:") || p == "localhost") {
			continue // registry host
		}
		if !validComponent(p) {
			return fmt.Errorf("repository name component %q must be lowercase letters, digits and separators", p)
		}
	}
	return nil
}

func validComponent(p string) bool {
	if p == "" {
		return false
	}
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !isAlnum(p[0]) || !isAlnum(p[len(p)-1]) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if isAlnum(c) {
			continue
		}
		if c != '.' && c != '_' && c != '-' {
			return false
		}
		if c == '.' && p[i-1] == '.' {
			return false
		}
	}
	return true
}

func validateTag(tag string) error {
	if tag == "" || len(tag) > 128 {
		return fmt.Errorf("tag must be 1 to 128 characters")
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || (i > 0 && (c == '.' || c == '-'))
		if !ok {
			return fmt.Errorf("tag %q must be [A-Za-z0-9_][A-Za-z0-9_.-]*", tag)
		}
	}
	return nil
}
