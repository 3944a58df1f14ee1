package events

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a --since/--until value in the forms Docker takes: a
// duration back from now ("10m", "1h30m"), Unix seconds with an optional
// fraction ("1700000000", "1700000000.5"), or an RFC 3339 date and time,
// possibly shortened ("2024-01-02", "2024-01-02T15:04"), read in the local
// zone when it names none. "0" is the Unix epoch, not a zero duration.
func ParseTime(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); err == nil && value != "0" {
		return now.Add(-d), nil
	}
	if t, ok := parseUnix(value); ok {
		return t, nil
	}
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, value); err == nil {
			return t, nil
		}
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, value, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
}

// The layouts accept any fraction of a second (".999999999" is optional in
// Go's parser when the input has none).
var (
	zonedLayouts = []string{
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00",
		"2006-01-02T15Z07:00", "2006-01-02Z07:00",
	}
	localLayouts = []string{
		"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02",
	}
)

// parseUnix reads seconds[.fraction] exactly: through a float64 the
// nanoseconds of a current timestamp would be lost.
func parseUnix(value string) (time.Time, bool) {
	secStr, fracStr, hasFrac := strings.Cut(value, ".")
	if !allDigits(secStr) || hasFrac && !allDigits(fracStr) || len(fracStr) > 9 {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac {
		nsec, _ = strconv.ParseInt(fracStr+strings.Repeat("0", 9-len(fracStr)), 10, 64)
	}
	return time.Unix(sec, nsec), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
