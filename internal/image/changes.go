package image

import (
	"encoding/json"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChanges applies Dockerfile instructions (import/commit --change) to
// an image config.
func ApplyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	for _, ch := range changes {
		instr, arg, _ := strings.Cut(strings.TrimSpace(ch), " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(instr) {
		case "CMD":
			v, err := commandForm(arg)
			if err != nil {
				return err
			}
			cfg.Cmd = v
		case "ENTRYPOINT":
			v, err := commandForm(arg)
			if err != nil {
				return err
			}
			cfg.Entrypoint = v
		case "ENV":
			k, v, ok := strings.Cut(arg, "=")
			if !ok {
				k, v, ok = strings.Cut(arg, " ")
			}
			if !ok || k == "" {
				return fmt.Errorf("ENV needs KEY=VALUE: %q", ch)
			}
			cfg.Env = setEnv(cfg.Env, k, strings.TrimSpace(v))
		case "WORKDIR":
			if !strings.HasPrefix(arg, "/") {
				return fmt.Errorf("WORKDIR must be absolute: %q", ch)
			}
			cfg.WorkingDir = arg
		case "USER":
			cfg.User = arg
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range strings.Fields(arg) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "VOLUME":
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			vols, err := listForm(arg)
			if err != nil {
				return err
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		case "LABEL":
			k, v, ok := strings.Cut(arg, "=")
			if !ok || k == "" {
				return fmt.Errorf("LABEL needs key=value: %q", ch)
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[k] = strings.Trim(v, `"`)
		case "STOPSIGNAL":
			cfg.StopSignal = arg
		default:
			return fmt.Errorf("unsupported change instruction %q (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)", instr)
		}
	}
	return nil
}

// commandForm reads the JSON-array form, or the shell form as sh -c.
func commandForm(arg string) ([]string, error) {
	if strings.HasPrefix(arg, "[") {
		var v []string
		if err := json.Unmarshal([]byte(arg), &v); err != nil {
			return nil, fmt.Errorf("invalid JSON array %q: %w", arg, err)
		}
		return v, nil
	}
	if arg == "" {
		return nil, nil
	}
	return []string{"/bin/sh", "-c", arg}, nil
}

func listForm(arg string) ([]string, error) {
	if strings.HasPrefix(arg, "[") {
		var v []string
		return v, json.Unmarshal([]byte(arg), &v)
	}
	return strings.Fields(arg), nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
