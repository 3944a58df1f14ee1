package state

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sync"
)

// NewID returns 64 random hex digits. Like Docker, it avoids IDs made only of
// decimal digits, which would be mistaken for numbers.
func NewID() string {
	b := make([]byte, 32)
	for {
		_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
		id := hex.EncodeToString(b)
		if !isDecimal(id[:12]) {
			return id
		}
	}
}

func isDecimal(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

var nameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
})

// ValidateName checks a container name as Docker does.
func ValidateName(name string) error {
	if !nameRE().MatchString(name) || len(name) > 255 {
		return fmt.Errorf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return nil
}
