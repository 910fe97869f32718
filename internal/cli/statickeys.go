package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// keySecretJSON is the published output of key create: exactly these two
// keys, which scripts rely on.
type keySecretJSON struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func kindName(kind string) string {
	if kind == statickey.KindUser {
		return "user API key"
	}
	return "AppKey"
}

func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return rfc3339(*t)
}

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage static keys: user API keys and AppKeys (prefer OAuth 2.0 clients)"}
	var team string

	var (
		user, appName string
		expiresIn     time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Make a user API key (--user) or an AppKey (--app); the key is printed once",
		Example: `  gatehouse admin key create --team acme --user ada@example.com
  gatehouse admin key create --team acme --app etl --expires-in 720h --json`,
		Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			in := adminclient.NewKey{User: user, App: appName}
			if (user == "") == (appName == "") {
				return usageError{errors.New("give exactly one of --user EMAIL and --app NAME")}
			}
			if cmd.Flags().Changed("expires-in") {
				if expiresIn <= 0 {
					return usageError{fmt.Errorf("--expires-in %s: want a positive duration such as 720h (leave it out for a key that does not expire)", expiresIn)}
				}
				in.ExpiresIn = expiresIn.String()
			}
			k, err := c.CreateKey(cmd.Context(), in)
			if err != nil {
				return err
			}
			scheme := "Bearer"
			if k.Kind == statickey.KindApp {
				scheme = "AppKey"
			}
			return a.print(keySecretJSON{ID: k.ID, Key: k.Secret}, func(w io.Writer) {
				fmt.Fprintf(w, "created %s %s for %s in team %s\n", kindName(k.Kind), k.ID, k.Owner, team)
				fmt.Fprintf(w, "key: %s\n", k.Secret)
				fmt.Fprintf(w, "Send it as:  Authorization: %s <key>\n", scheme)
				if k.ExpiresAt != nil {
					fmt.Fprintf(w, "It expires at %s.\n", rfc3339(*k.ExpiresAt))
				}
				fmt.Fprintln(w, "Copy the key now: it is shown only this once, and Gatehouse keeps only its hash.")
			})
		}),
	}
	create.Flags().StringVar(&user, "user", "", "make a user API key for the user with this email")
	create.Flags().StringVar(&appName, "app", "", "make an AppKey for this application")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "the key stops working after this long, such as 720h (default: never)")

	list := &cobra.Command{
		Use: "list", Short: "List a team's static keys with their last use (never the keys)", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.Key], error) {
				return c.ListKeys(ctx, adminclient.KeyFilter{}, p)
			})
			if err != nil {
				return err
			}
			return a.print(out, func(w io.Writer) { printKeys(w, out, false) })
		}),
	}

	del := &cobra.Command{
		Use: "delete KEY_ID", Short: "Delete a static key; it stops working at once", Args: exactArgs("KEY_ID"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if err := c.DeleteKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done("deleted static key %s from team %s", args[0], team)
		}),
	}

	for _, c := range []*cobra.Command{create, list, del} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

func printKeys(w io.Writer, ks []adminclient.Key, status bool) {
	header := "ID\tKIND\tOWNER\tCREATED\tEXPIRES\tLAST USED\tLAST IP\tLAST USER AGENT\tMIGRATED TO"
	if status {
		header += "\tSTATUS"
	}
	table(w, header, func(tw io.Writer) {
		for _, k := range ks {
			or := func(s string) string {
				if s == "" {
					return "-"
				}
				return s
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", k.ID, k.Kind, or(k.Owner), rfc3339(k.CreatedAt), orDash(k.ExpiresAt),
				orDash(k.LastUsedAt), or(k.LastUsedIP), or(strings.ReplaceAll(k.LastUsedUserAgent, "\t", " ")), or(k.MigratedTo))
			if status {
				fmt.Fprintf(tw, "\t%s", k.Status)
			}
			fmt.Fprintln(tw)
		}
	})
}

func printPolicy(w io.Writer, team string, p adminclient.Policy) {
	src := "the server's (the team has none of its own)"
	if p.Source == "team" {
		src = "the team's own"
	}
	or := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(w, "team:             %s\n", team)
	fmt.Fprintf(w, "policy:           %s\n", src)
	fmt.Fprintf(w, "status now:       %s\n", p.Status)
	fmt.Fprintf(w, "deprecated since: %s\n", orDash(p.DeprecatedSince))
	fmt.Fprintf(w, "sunset at:        %s\n", orDash(p.SunsetAt))
	fmt.Fprintf(w, "link:             %s\n", or(p.Link))
	fmt.Fprintf(w, "refuse new keys:  %v\n", p.RefuseNew)
}

// parseFlagTime parses an RFC 3339 time flag; "" unsets.
func parseFlagTime(flag, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s %q: want an RFC 3339 time such as 2026-03-31T00:00:00Z (or \"\" to unset)", flag, s)}
	}
	return &t, nil
}

func (a *app) staticKeysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "static-keys", Short: "The static keys' sunset policy, report, and migration to OAuth 2.0"}
	var team string

	var (
		since, sunset, link string
		refuseNew, clear    bool
	)
	policy := &cobra.Command{
		Use:   "policy",
		Short: "Show a team's static key sunset policy, or change it with the flags given",
		Long: `Show a team's static key sunset policy, or change it with the flags given.

From --deprecated-since, every answer to a static key carries Deprecation,
Sunset and Link headers; from --sunset-at, static keys are refused with 401.
A team without a policy of its own takes the server's (serve's
--static-keys-* flags); the first change copies the server's policy into the
team's and changes it. An empty value unsets a setting; --clear removes the
team's policy.`,
		Example: `  gatehouse admin static-keys policy --team acme
  gatehouse admin static-keys policy --team acme --deprecated-since 2026-01-01T00:00:00Z \
    --sunset-at 2026-03-31T00:00:00Z --link https://docs.example.com/oauth --refuse-new`,
		Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			f := cmd.Flags()
			ch := adminclient.PolicyChange{Clear: clear}
			if f.Changed("deprecated-since") {
				t, err := parseFlagTime("deprecated-since", since)
				if err != nil {
					return err
				}
				ch.DeprecatedSince = &t
			}
			if f.Changed("sunset-at") {
				t, err := parseFlagTime("sunset-at", sunset)
				if err != nil {
					return err
				}
				ch.SunsetAt = &t
			}
			if f.Changed("link") {
				ch.Link = &link
			}
			if f.Changed("refuse-new") {
				ch.RefuseNew = &refuseNew
			}
			changing := ch.DeprecatedSince != nil || ch.SunsetAt != nil || ch.Link != nil || ch.RefuseNew != nil
			if clear && changing {
				return usageError{errors.New("--clear takes no other policy flag")}
			}
			var (
				p   adminclient.Policy
				err error
			)
			if clear || changing {
				p, err = c.SetPolicy(cmd.Context(), ch, "")
			} else {
				p, _, err = c.Policy(cmd.Context())
			}
			if err != nil {
				return err
			}
			return a.print(p, func(w io.Writer) { printPolicy(w, team, p) })
		}),
	}
	pf := policy.Flags()
	pf.StringVar(&since, "deprecated-since", "", "RFC 3339 `TIME` from which static keys get Deprecation headers")
	pf.StringVar(&sunset, "sunset-at", "", "RFC 3339 `TIME` from which static keys are refused; not before --deprecated-since")
	pf.StringVar(&link, "link", "", "absolute http(s) `URL` sent as Link: <URL>; rel=\"deprecation\"")
	pf.BoolVar(&refuseNew, "refuse-new", false, "refuse to make new static keys once deprecated (--refuse-new=false to allow)")
	pf.BoolVar(&clear, "clear", false, "remove the team's policy: it takes the server's again")

	var authMethod string
	migrate := &cobra.Command{
		Use:   "migrate KEY_ID",
		Short: "Replace a static key with an OAuth 2.0 client that reaches what the key reached; its secret is printed once",
		Long: `Replace a static key with an OAuth 2.0 client, the four migration steps of the Celonis guide
in one transaction: register a client_credentials client named after the key's
owner, grant it the owner's permissions as of now (a user's own and its
groups'), allow it the scopes those permissions can use on the built-in team
APIs and the gateway's routes (--routes, GATEHOUSE_ROUTES or the configuration
file), and mark the key migrated. The key
keeps working until it is deleted; a team admin's key cannot be migrated.`,
		Args: exactArgs("KEY_ID"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if a.remoteURL(cmd) == "" {
				routes, err := a.migrationRoutes()
				if err != nil {
					return err
				}
				a.routes = routes
			} else if cmd.Flags().Changed("routes") {
				return usageError{errors.New("--routes counts only without --url: a server counts its own routes")}
			}
			m, err := c.MigrateKey(cmd.Context(), args[0], authMethod)
			if err != nil {
				return err
			}
			return a.printSecret(m.ClientID, m.ClientSecret,
				fmt.Sprintf("migrated static key %s to client %q in team %s, with scopes %s", args[0], m.Name, team, strings.Join(m.Scopes, " ")),
				fmt.Sprintf("The key keeps working: switch the integration to the client (POST /oauth2/token, grant_type=client_credentials, %s), then delete the key with `gatehouse admin key delete --team %s %s`.", m.AuthMethod, team, args[0]))
		}),
	}
	migrate.Flags().StringVar(&authMethod, "auth-method", "client_secret_basic", "the client's authentication method: client_secret_basic or client_secret_post")
	// serve's --routes, so that the gateway's routes count without the
	// configuration file or GATEHOUSE_ROUTES.
	migrate.Flags().StringVar(&a.cfg.Routes, "routes", a.cfg.Routes, "gateway routes YAML `FILE` whose routes count too (default: the configuration's)")

	report := &cobra.Command{
		Use: "report", Short: "Every static key of a team with its owner, dates, last use, status and migration", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			out, err := fullReport(cmd.Context(), c)
			if err != nil {
				return err
			}
			return a.print(out, func(w io.Writer) {
				printPolicy(w, team, out.Policy)
				fmt.Fprintln(w)
				printKeys(w, out.Items, true)
			})
		}),
	}

	for _, c := range []*cobra.Command{policy, migrate, report} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

// fullReport is every page of the static key report, with the policy of
// its first.
func fullReport(ctx context.Context, c *adminclient.Client) (adminclient.Report, error) {
	out := adminclient.Report{Items: []adminclient.Key{}}
	p := adminclient.Page{Limit: 1000}
	for first := true; ; first = false {
		r, err := c.Report(ctx, p)
		if err != nil {
			return adminclient.Report{}, err
		}
		if first {
			out.Policy = r.Policy
		}
		out.Items = append(out.Items, r.Items...)
		if r.NextCursor == "" {
			return out, nil
		}
		p.Cursor = r.NextCursor
	}
}

// migrationRoutes are the routes a migrated key's client may need
// (server.MigrationRoutes), with those of the configuration's gateway
// route file (--routes).
func (a *app) migrationRoutes() ([]authz.Route, error) {
	if a.cfg.Routes == "" {
		return server.MigrationRoutes(nil), nil
	}
	cat, err := compose.Catalog(a.cfg)
	if err != nil {
		return nil, err
	}
	t, err := gateway.Load(a.cfg.Routes, cat)
	if err != nil {
		return nil, err
	}
	return server.MigrationRoutes(t), nil
}
