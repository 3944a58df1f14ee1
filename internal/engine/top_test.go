package engine

import (
	"reflect"
	"testing"
)

func TestFilterPsOutput(t *testing.T) {
	ef := "UID          PID    PPID  C STIME TTY          TIME CMD\n" +
		"root           1       0  0 08:00 ?        00:00:01 /sbin/init splash\n" +
		"root        9539    9526  0 08:55 ?        00:00:00 sleep 300\n" +
		"app         9600    9539  0 08:56 pts/0    00:00:00 sh -c echo  a   b\n"
	l, err := FilterPsOutput([]byte(ef), map[int]bool{9539: true, 9600: true})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"root", "9539", "9526", "0", "08:55", "?", "00:00:00", "sleep 300"},
		{"app", "9600", "9539", "0", "08:56", "pts/0", "00:00:00", "sh -c echo a b"},
	}
	if len(l.Titles) != 8 || l.Titles[1] != "PID" || !reflect.DeepEqual(l.Processes, want) {
		t.Errorf("-ef: %q %q", l.Titles, l.Processes)
	}
	// The PID column is found by its title, wherever it is.
	l, err = FilterPsOutput([]byte("COMMAND   PID\nsleep     42\nsh        43\n"), map[int]bool{43: true})
	if err != nil || !reflect.DeepEqual(l.Processes, [][]string{{"sh", "43"}}) {
		t.Errorf("-o comm,pid: %q %v", l.Processes, err)
	}
	if _, err := FilterPsOutput([]byte("COMMAND\nsleep\n"), nil); err == nil {
		t.Error("output without a PID column accepted")
	}
	if _, err := FilterPsOutput([]byte("PID CMD\nx sleep\n"), nil); err == nil {
		t.Error("a PID column holding no number accepted")
	}
}
