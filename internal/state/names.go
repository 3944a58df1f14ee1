package state

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

var (
	adjectives = []string{
		"agile", "bold", "brave", "bright", "calm", "clever", "cool", "crisp", "eager", "fair",
		"fond", "gentle", "glad", "happy", "keen", "kind", "lucid", "merry", "modest", "nimble",
		"noble", "patient", "proud", "quick", "quiet", "sharp", "shy", "steady", "sunny", "swift",
		"tender", "tidy", "upbeat", "vivid", "warm", "wise", "witty", "zealous", "jolly", "serene",
	}
	scientists = []string{
		"babbage", "bardeen", "bell", "bohr", "cerf", "curie", "darwin", "dijkstra", "einstein", "euler",
		"faraday", "fermi", "feynman", "gauss", "goodall", "hamilton", "hopper", "hypatia", "johnson", "kepler",
		"knuth", "lamarr", "lovelace", "maxwell", "meitner", "mendel", "newton", "noether", "pascal", "pike",
		"ritchie", "shannon", "thompson", "turing", "volta", "wozniak", "yalow", "wirth", "liskov", "ramanujan",
	}
)

// RandomName returns a Docker-style "adjective_scientist" name; after a few
// collisions (retry > 3) a random digit is appended, as Docker does.
func RandomName(retry int) string {
	n := fmt.Sprintf("%s_%s", pick(adjectives), pick(scientists))
	if retry > 3 {
		n = fmt.Sprintf("%s%d", n, pickN(10))
	}
	return n
}

func pick(s []string) string { return s[pickN(len(s))] }

func pickN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}
