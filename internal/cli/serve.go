package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gctune"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/team"
)

func (a *app) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse server",
		Long: `Run the Gatehouse server: every team at <team>.<domain>.

With --dev: --scheme http, --domain localhost:<port>, a loopback listener,
and, on a data directory without teams, a team "acme" with a team admin
whose generated password is printed once.`,
		Args: noArgs,
		RunE: a.withServeEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			ctx := cmd.Context()
			ln, err := net.Listen("tcp", a.cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
			}
			var ops net.Listener
			if a.cfg.OpsListen != "" {
				if ops, err = net.Listen("tcp", a.cfg.OpsListen); err != nil {
					ln.Close()
					return fmt.Errorf("listen on %s: %w", a.cfg.OpsListen, err)
				}
			}
			defer a.logBuf.Flush() // what the shutdown itself logged
			err = e.Background.Add(lifecycle.Component{Name: "log writer", Run: a.logBuf.Run,
				Flush: func(context.Context) error { return a.logBuf.Flush() }, BestEffort: true})
			if err != nil {
				return err
			}
			// The operator's GOGC wins; without one, the heap gets a
			// headroom that suits a small live heap (internal/gctune).
			if _, set := a.lookupEnv("GOGC"); !set {
				gc := gctune.New(gctune.Options{Log: e.Log})
				if err := e.Background.Add(lifecycle.Component{Name: "gc tuner", Run: gc.Run, BestEffort: true}); err != nil {
					return err
				}
			}
			srv, err := server.NewWith(e.Services)
			if err != nil {
				return err
			}
			if a.cfg.Dev {
				b, created, err := e.Admin.Bootstrap(ctx)
				if err != nil {
					return err
				}
				if created {
					u := team.URL(a.cfg.Scheme, b.Team, a.cfg.Domain)
					fmt.Fprintf(a.streams.Out, `Development team %q created. Its team admin, shown this once:
  email:    %s
  password: %s
Open:
  %s/healthz
  %s/.well-known/oauth-authorization-server
  %s/login (sign in; your consents are at /profile)
Register an OAuth client (its secret is shown once), grant it a permission,
get a token and call an API (README.md, "Getting a token"):
  gatehouse admin client create --team %s --name demo --grant-type client_credentials \
      --auth-method client_secret_basic --scope audit.log:read --data-dir %s
  gatehouse admin permission grant --team %s --principal client:CLIENT_ID \
      --action read --resource audit-log --data-dir %s
  curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials %s/oauth2/token
  curl -H "Authorization: Bearer ACCESS_TOKEN" %s/api/team/audit-log
`, b.Team, b.Email, b.Password, u, u, u, b.Team, a.cfg.DataDir, b.Team, a.cfg.DataDir, u, u)
				}
			}
			e.Log.Info("serving", "listen", ln.Addr().String(), "domain", a.cfg.Domain, "scheme", a.cfg.Scheme,
				"database", e.Store.Dialect(), "ops_listen", a.cfg.OpsListen)
			return srv.Run(ctx, ln, ops)
		}),
	}
	config.BindServe(cmd.Flags(), &a.cfg)
	return cmd
}
