package engine

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cocin-dev/cocin/internal/network"
	"github.com/cocin-dev/cocin/internal/state"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runtimeEnv are the variables the engine adds to every process (see
// specgen.Env); they are not the container's configuration, so a commit
// keeps them only when the image or the user set them, as Docker does.
var runtimeEnv = []string{"PATH", "HOSTNAME", "TERM", "HOME"}

// containerConfig is the config a commit records: the container's, i.e.
// its image's with the run flags that overrode it (Docker and podman
// record the container as it ran; `commit -c` applies on top).
func containerConfig(c *state.Container, base ocispec.ImageConfig) ocispec.ImageConfig {
	var opts RunOptions
	_ = json.Unmarshal(c.Options, &opts)
	var spec specs.Spec
	_ = json.Unmarshal(c.Spec, &spec)
	cfg := base
	cfg.Labels = maps.Clone(base.Labels)
	if opts.Entrypoint != nil { // as specgen.Command: it drops the image's CMD
		cfg.Entrypoint, cfg.Cmd = nil, nil
		if *opts.Entrypoint != "" {
			cfg.Entrypoint = []string{*opts.Entrypoint}
		}
	}
	if len(opts.Cmd) > 0 {
		cfg.Cmd = opts.Cmd
	}
	if opts.Workdir != "" {
		cfg.WorkingDir = opts.Workdir
	}
	if opts.User != "" {
		cfg.User = opts.User
	}
	if c.StopSignal != "" {
		cfg.StopSignal = c.StopSignal
	}
	if spec.Process != nil {
		cfg.Env = committedEnv(spec.Process.Env, base.Env, opts.Env)
	}
	cfg.ExposedPorts = withPublished(base.ExposedPorts, opts.Net.Publish)
	cfg.Volumes = withAnonymousVolumes(base.Volumes, opts.Storage.Volumes)
	return cfg
}

// committedEnv is the process's environment (which has the values -e and
// --env-file had when the container was created) without what the
// engine added at run time.
func committedEnv(procEnv, imageEnv, userEnv []string) []string {
	set := map[string]bool{}
	for _, kv := range slices.Concat(imageEnv, userEnv) {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range procEnv {
		k, _, _ := strings.Cut(kv, "=")
		if set[k] || !slices.Contains(runtimeEnv, k) {
			out = append(out, kv)
		}
	}
	return out
}

// withPublished adds the container ports of -p to the image's exposed
// ports, as Docker records them.
func withPublished(exposed map[string]struct{}, publish []string) map[string]struct{} {
	out := maps.Clone(exposed)
	for _, p := range publish {
		pms, err := network.ParsePublish(p)
		if err != nil {
			continue // refused at create; the container would not exist
		}
		for _, pm := range pms {
			if out == nil {
				out = map[string]struct{}{}
			}
			out[strconv.Itoa(int(pm.ContainerPort))+"/"+pm.Proto] = struct{}{}
		}
	}
	return out
}

// withAnonymousVolumes adds the targets of -v CTR (anonymous volumes) to
// the image's VOLUMEs, as Docker records them; named volumes and binds
// are host configuration and are not recorded.
func withAnonymousVolumes(vols map[string]struct{}, flags []string) map[string]struct{} {
	out := maps.Clone(vols)
	for _, v := range flags {
		r, err := parseVolumeFlag(v)
		if err != nil || r.Type != "volume" || r.Source != "" {
			continue
		}
		if out == nil {
			out = map[string]struct{}{}
		}
		out[r.Target] = struct{}{}
	}
	return out
}
