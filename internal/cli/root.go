// Package cli holds cocin's cobra commands. Each command fills an options
// struct and calls one engine function; nothing here touches the system.
package cli

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	return 0
}
