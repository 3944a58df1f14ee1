// Command cocin is a daemonless container engine with its own OCI runtime.
package main

import (
	"os"

	"github.com/cocin-dev/cocin/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
