// Command cocin is a daemonless container engine with its own OCI runtime.
package main

import (
	"os"
	"path/filepath"

	"github.com/cocin-dev/cocin/internal/cli"
	"github.com/cocin-dev/cocin/internal/cmonitor" // the monitor's C loop (constructor)
	"github.com/cocin-dev/cocin/internal/engine"
	_ "github.com/cocin-dev/cocin/internal/nsenter" // joins namespaces before Go starts (exec)
	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/runtimecli"
)

func main() {
	// Hidden modes are chosen by argv[0], before any command-line parsing,
	// so that a container's init starts as little as possible.
	switch os.Args[0] {
	case runtime.InitArg0:
		runtime.InitMain()
		return
	case runtime.ExecArg0:
		runtime.ExecMain()
		return
	case engine.MonitorArg0:
		engine.MonitorMain()
		return
	case cmonitor.FinishArg0:
		engine.MonitorFinishMain()
		return
	}
	if filepath.Base(os.Args[0]) == runtimecli.Arg0 {
		os.Exit(runtimecli.Main(os.Args))
	}
	os.Exit(cli.Main(os.Args))
}
