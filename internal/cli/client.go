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
	"github.com/gatehouse/gatehouse/internal/compose"
)

// clientSecretJSON is the published output of client create,
// regenerate-secret and static-keys migrate: exactly these two keys, which
// scripts rely on.
type clientSecretJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// printSecret prints a secret shown once.
func (a *app) printSecret(id, sec, headline, after string) error {
	return a.print(clientSecretJSON{ClientID: id, ClientSecret: sec}, func(w io.Writer) {
		fmt.Fprintln(w, headline)
		fmt.Fprintf(w, "client_id:     %s\n", id)
		fmt.Fprintf(w, "client_secret: %s\n", sec)
		fmt.Fprintln(w, "Copy the secret now: it is shown only this once, and Gatehouse keeps only its hash.")
		if after != "" {
			fmt.Fprintln(w, after)
		}
	})
}

// scopeList splits each --scope value at spaces.
func scopeList(values []string) []string {
	var out []string
	for _, s := range values {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

func (a *app) clientCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Register and manage OAuth 2.0 clients"}
	var team string

	var (
		in     adminclient.NewClient
		scopes []string
		ttl    time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Register an OAuth 2.0 client; its secret is printed once",
		Example: `  gatehouse admin client create --team acme --name reporting \
    --grant-type client_credentials --auth-method client_secret_basic \
    --scope "audit.log:read team.login-history:read"`,
		Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			in.Scopes = scopeList(scopes)
			in.AccessTokenTTL = ""
			if ttl != 0 {
				in.AccessTokenTTL = ttl.String()
			}
			got, err := c.CreateClient(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.printSecret(got.ClientID, got.ClientSecret, fmt.Sprintf("created client %q in team %s", got.Name, team), "")
		}),
	}
	f := create.Flags()
	f.StringVar(&in.Name, "name", "", "the client's name, 1 to 128 characters (required)")
	f.StringSliceVar(&in.GrantTypes, "grant-type", nil, "client_credentials or authorization_code; repeat for both (required)")
	f.StringVar(&in.AuthMethod, "auth-method", "", "client_secret_basic or client_secret_post (required)")
	f.StringArrayVar(&scopes, "scope", nil, `space-separated scopes of the catalog, such as "audit.log:read team.login-history:read" (required; see admin scopes list)`)
	f.StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "redirect URI of the authorization_code grant: https, or http on a loopback host; repeat for more")
	f.DurationVar(&ttl, "access-token-ttl", 0, "lifetime of this client's access tokens, from 1m to 24h (0: the team's)")
	f.StringVar(&in.IDTokenAlg, "id-token-alg", "", "OpenID Connect: the algorithm of the client's ID tokens, RS256, ES256, ES384 or EdDSA (default RS256)")
	f.StringArrayVar(&in.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "OpenID Connect: where /oauth2/logout may send the user back, matched exactly; repeat for more")
	for _, name := range []string{"name", "grant-type", "auth-method", "scope"} {
		create.MarkFlagRequired(name)
	}

	list := &cobra.Command{
		Use: "list", Short: "List a team's clients", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.OAuthClient], error) {
				return c.ListClients(ctx, adminclient.ClientFilter{}, p)
			})
			if err != nil {
				return err
			}
			return a.print(out, func(w io.Writer) {
				table(w, "CLIENT ID\tNAME\tGRANT TYPES\tAUTH METHOD\tSCOPES", func(tw io.Writer) {
					for _, c := range out {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, strings.Join(c.GrantTypes, ","), c.AuthMethod, strings.Join(c.Scopes, " "))
					}
				})
			})
		}),
	}

	show := &cobra.Command{
		Use: "show CLIENT_ID", Short: "Show a client's registration (never its secrets)", Args: exactArgs("CLIENT_ID"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, args []string) error {
			out, _, err := c.GetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(out, func(w io.Writer) { printClient(w, out) })
		}),
	}

	del := &cobra.Command{
		Use: "delete CLIENT_ID", Short: "Delete a client with its secrets, consents, tokens and permissions", Args: exactArgs("CLIENT_ID"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if err := c.DeleteClient(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done("deleted client %s from team %s", args[0], team)
		}),
	}

	var grace time.Duration
	regen := &cobra.Command{
		Use:   "regenerate-secret CLIENT_ID",
		Short: "Give a client a new secret, printed once; old secrets stop at once or after --grace",
		Args:  exactArgs("CLIENT_ID"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			got, err := c.RotateSecret(cmd.Context(), args[0], grace)
			if err != nil {
				return err
			}
			after := "The old secret no longer works."
			if t := got.PreviousSecretExpiresAt; t != nil {
				after = fmt.Sprintf("The old secret keeps working for %s, until %s.", grace, rfc3339(*t))
			}
			return a.printSecret(got.ClientID, got.ClientSecret, fmt.Sprintf("new secret for client %s in team %s", args[0], team), after)
		}),
	}
	regen.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working, up to 168h (0: it stops at once)")

	for _, c := range []*cobra.Command{create, list, show, del, regen} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

func printClient(w io.Writer, c adminclient.OAuthClient) {
	orNone := func(s []string, sep string) string {
		if len(s) == 0 {
			return "-"
		}
		return strings.Join(s, sep)
	}
	ttl := "the team's"
	if d, err := time.ParseDuration(c.AccessTokenTTL); err == nil && d > 0 {
		ttl = d.String()
	}
	secrets := fmt.Sprint(c.ActiveSecrets)
	for _, t := range c.GraceEndsAt {
		secrets += fmt.Sprintf("; an old secret works until %s", rfc3339(t))
	}
	for _, row := range [][2]string{
		{"client_id", c.ClientID},
		{"name", c.Name},
		{"grant types", orNone(c.GrantTypes, " ")},
		{"auth method", c.AuthMethod},
		{"scopes", orNone(c.Scopes, " ")},
		{"redirect URIs", orNone(c.RedirectURIs, " ")},
		{"ID token alg", orNone([]string{c.IDTokenAlg}[:min(1, len(c.IDTokenAlg))], "")},
		{"logout URIs", orNone(c.PostLogoutRedirectURIs, " ")},
		{"access token TTL", ttl},
		{"created", rfc3339(c.CreatedAt)},
		{"active secrets", secrets},
	} {
		fmt.Fprintf(w, "%-17s %s\n", row[0]+":", row[1])
	}
}

func (a *app) scopesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "scopes", Short: "The scope catalog: what OAuth clients may be registered with"}
	var team string
	list := &cobra.Command{
		Use: "list", Short: "List the scopes with their descriptions (the server's with --url, else this configuration's)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			var out []adminclient.Scope
			if u := a.remoteURL(cmd); u != "" {
				c, err := a.remoteClient(u, team)
				if err != nil {
					return err
				}
				if out, err = c.Scopes(cmd.Context()); err != nil {
					return err
				}
			} else {
				// The catalog is the configuration's: no database needed.
				cat, err := compose.Catalog(a.cfg)
				if err != nil {
					return err
				}
				for _, s := range cat.All() {
					out = append(out, adminclient.Scope{Name: s.Name, Description: s.Description})
				}
			}
			return a.print(out, func(w io.Writer) {
				table(w, "NAME\tDESCRIPTION", func(tw io.Writer) {
					for _, s := range out {
						fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
					}
				})
			})
		},
	}
	list.Flags().StringVar(&team, "team", "", "ignored without --url: every team shares the catalog")
	cmd.AddCommand(list)
	return cmd
}

func printTeamSettings(w io.Writer, team string, s adminclient.Settings) {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	ttl := "server default"
	if d, err := time.ParseDuration(s.AccessTokenTTL); err == nil && d > 0 {
		ttl = d.String()
	}
	fmt.Fprintf(w, "team:               %s\n", team)
	fmt.Fprintf(w, "access token TTL:   %s\n", ttl)
	fmt.Fprintf(w, "token scope format: %s\n", or(s.TokenScopeFormat, "server default (array)"))
	fmt.Fprintf(w, "signing algorithm:  %s\n", or(s.SigningAlg, "server default"))
}

// teamSettingsCommands are "admin team set" and "admin team show".
func (a *app) teamSettingsCommands() []*cobra.Command {
	var (
		team        string
		ttl         time.Duration
		format, alg string
	)
	set := &cobra.Command{
		Use:   "set",
		Short: "Change a team's token settings; only the flags given change",
		Args:  noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			var ch adminclient.SettingsChange
			f := cmd.Flags()
			if f.Changed("access-token-ttl") {
				v := "" // the server's
				if ttl != 0 {
					v = ttl.String()
				}
				ch.AccessTokenTTL = &v
			}
			if f.Changed("token-scope-format") {
				ch.TokenScopeFormat = &format
			}
			if f.Changed("signing-alg") {
				ch.SigningAlg = &alg
			}
			if ch == (adminclient.SettingsChange{}) {
				return usageError{errors.New("nothing to change: give --access-token-ttl, --token-scope-format or --signing-alg")}
			}
			s, _, err := c.UpdateSettings(cmd.Context(), ch, "")
			if err != nil {
				return err
			}
			return a.print(s, func(w io.Writer) { printTeamSettings(w, team, s) })
		}),
	}
	requireTeam(set, &team)
	set.Flags().DurationVar(&ttl, "access-token-ttl", 0, "lifetime of the team's access tokens, from 1m to 24h (0: the server default)")
	set.Flags().StringVar(&format, "token-scope-format", "", `the access token's scope claim: "array" (a JSON array) or "string" (RFC 9068, space-separated); "": the server default`)
	set.Flags().StringVar(&alg, "signing-alg", "", `algorithm of the team's new signing keys: ES384, ES256 or EdDSA; "": the server default`)

	show := &cobra.Command{
		Use: "show", Short: "Show a team's token settings", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			s, _, err := c.Settings(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(s, func(w io.Writer) { printTeamSettings(w, team, s) })
		}),
	}
	requireTeam(show, &team)
	return []*cobra.Command{set, show}
}
