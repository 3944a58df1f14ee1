package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteError is a value the kernel refused (or a file that is missing). It
// names both, because a limit that silently does not apply is worse than a
// container that does not start (moby#24559).
type WriteError struct {
	Path  string
	Value string
	Err   error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("write %q to %s: %v", e.Value, e.Path, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// writeFile writes one value with a single write(2), as cgroupfs expects.
// O_TRUNC changes nothing on cgroupfs but keeps a fake tree's files exact;
// there is no O_CREAT: a missing file means a missing controller.
func writeFile(dir, file, value string) error {
	return writeLines(dir, file, []string{value}, false)
}

// writeLines writes each line with its own write(2) on one open file, the
// way per-device files (io.max, blkio.throttle.*, devices.allow) take them.
func writeLines(dir, file string, lines []string, newline bool) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return &WriteError{Path: p, Value: strings.Join(lines, "\n"), Err: errnoOf(err)}
	}
	defer f.Close()
	for _, l := range lines {
		if newline {
			l += "\n"
		}
		if _, err := f.WriteString(l); err != nil {
			return &WriteError{Path: p, Value: strings.TrimSuffix(l, "\n"), Err: errnoOf(err)}
		}
	}
	return nil
}

// errnoOf drops *PathError's wrapping, which would repeat the path.
func errnoOf(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(b)), err
}

func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// readUint reads a file holding one number; "max" reads as 0 (no limit).
func readUint(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUint(s)
}

func parseUint(s string) (uint64, error) {
	if s == "max" {
		return 0, nil
	}
	// Some v1 files report -1 for "unlimited".
	if strings.HasPrefix(s, "-") {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return 0, nil
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKV parses "key value" lines (memory.stat, cpu.stat, memory.events,
// memory.oom_control). Lines that are not a name and a number are skipped.
func readKV(dir, file string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv, sc.Err()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

// limitString is the v2 spelling of a limit where -1 means none.
func limitString(n int64) string {
	if n < 0 {
		return "max"
	}
	return itoa(n)
}
