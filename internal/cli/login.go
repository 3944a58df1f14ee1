package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"
)

// dockerHubServer is the key Docker stores Docker Hub credentials under.
const dockerHubServer = "https://index.docker.io/v1/"

func credentialServer(arg string) (string, name.Registry, error) {
	if arg == "" || arg == "docker.io" || arg == "index.docker.io" || arg == dockerHubServer {
		reg, err := name.NewRegistry("index.docker.io")
		return dockerHubServer, reg, err
	}
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(arg, "https://"), "http://"), "/")
	reg, err := name.NewRegistry(host)
	return host, reg, err
}

func (a *app) loginCommand() *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (credentials go to ~/.docker/config.json)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server, reg, err := credentialServer(firstArg(args))
			if err != nil {
				return fmt.Errorf("login: %w", err)
			}
			if passwordStdin {
				line, err := bufio.NewReader(a.streams.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("login: read password from stdin: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if user == "" || password == "" {
				return errors.New("login: a username (-u) and a password (-p or --password-stdin) are required")
			}
			if err := checkLogin(cmd.Context(), reg, &authn.Basic{Username: user, Password: password}); err != nil {
				return fmt.Errorf("login %s: %w", reg.Name(), err)
			}
			cf, err := config.Load(config.Dir())
			if err != nil {
				return fmt.Errorf("login: %w", err)
			}
			ac := types.AuthConfig{Username: user, Password: password, ServerAddress: server}
			if err := cf.GetCredentialsStore(server).Store(ac); err != nil {
				return fmt.Errorf("login: save credentials: %w", err)
			}
			fmt.Fprintln(a.streams.Stdout, "Login Succeeded")
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "username")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "take the password from stdin")
	return cmd
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server, _, err := credentialServer(firstArg(args))
			if err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			cf, err := config.Load(config.Dir())
			if err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			if _, ok := cf.AuthConfigs[server]; !ok && cf.CredentialsStore == "" {
				// Not an error for docker either: the goal is reached.
				fmt.Fprintf(a.streams.Stdout, "Not logged in to %s\n", server)
				return nil
			}
			if err := cf.GetCredentialsStore(server).Erase(server); err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			fmt.Fprintf(a.streams.Stdout, "Removing login credentials for %s\n", server)
			return nil
		},
	}
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// checkLogin proves the credentials before they are saved: an
// authenticated GET /v2/ (after the token exchange, for registries that
// use tokens) must succeed.
func checkLogin(ctx context.Context, reg name.Registry, auth authn.Authenticator) error {
	tr, err := transport.NewWithContext(ctx, reg, auth, http.DefaultTransport, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the registry answered %s", resp.Status)
	}
	return nil
}
