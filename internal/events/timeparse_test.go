package events

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)
	local := func(s string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
		return t
	}
	cases := map[string]time.Time{
		"10m":                            now.Add(-10 * time.Minute),
		"1h30m":                          now.Add(-90 * time.Minute),
		"0s":                             now,
		"0":                              time.Unix(0, 0),
		"1700000000":                     time.Unix(1700000000, 0),
		"1700000000.5":                   time.Unix(1700000000, 500000000),
		"1700000000.123456789":           time.Unix(1700000000, 123456789),
		"2024-01-02T15:04:05Z":           time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC),
		"2024-01-02T15:04:05.123456789Z": time.Date(2024, 1, 2, 15, 4, 5, 123456789, time.UTC),
		"2024-01-02T15:04:05+02:00":      time.Date(2024, 1, 2, 13, 4, 5, 0, time.UTC),
		"2024-01-02T15:04Z":              time.Date(2024, 1, 2, 15, 4, 0, 0, time.UTC),
		"2024-01-02T15:04:05":            local("2024-01-02T15:04:05"),
		"2024-01-02T15:04":               local("2024-01-02T15:04:00"),
		"2024-01-02":                     local("2024-01-02T00:00:00"),
	}
	for in, want := range cases {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "17000.1.2", "2024-13-01", "1700000000.1234567891"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}
