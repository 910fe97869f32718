package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// JSON shapes of the client, scope and team settings commands.
type (
	// clientSecretJSON is the published output of create and
	// regenerate-secret: exactly these two keys, which scripts rely on.
	clientSecretJSON struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	// clientJSON never carries a secret or a hash.
	clientJSON struct {
		ClientID              string      `json:"client_id"`
		Name                  string      `json:"name"`
		GrantTypes            []string    `json:"grant_types"`
		AuthMethod            string      `json:"auth_method"`
		Scopes                []string    `json:"scopes"`
		RedirectURIs          []string    `json:"redirect_uris"`
		AccessTokenTTLSeconds int64       `json:"access_token_ttl_seconds"` // 0: the team's
		CreatedAt             time.Time   `json:"created_at"`
		ActiveSecrets         int         `json:"active_secrets"`
		GraceEndsAt           []time.Time `json:"grace_ends_at"` // when each old secret still in its grace period stops
	}
	scopeJSON struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	teamSettingsJSON struct {
		Team                  string `json:"team"`
		AccessTokenTTLSeconds int64  `json:"access_token_ttl_seconds"` // 0: the server's
		TokenScopeFormat      string `json:"token_scope_format"`       // "": the server's (array)
		SigningAlg            string `json:"signing_alg"`              // "": the server's
	}
)

func toClientJSON(c store.Client, now time.Time) clientJSON {
	out := clientJSON{
		ClientID:              c.ID,
		Name:                  c.Name,
		GrantTypes:            nonNil(c.GrantTypes),
		AuthMethod:            c.AuthMethod,
		Scopes:                nonNil(c.Scopes),
		RedirectURIs:          nonNil(c.RedirectURIs),
		AccessTokenTTLSeconds: int64(c.AccessTokenTTL / time.Second),
		CreatedAt:             c.CreatedAt,
		GraceEndsAt:           []time.Time{},
	}
	for _, s := range c.Secrets {
		if s.ExpiresAt != nil && !s.ExpiresAt.After(now) {
			continue
		}
		out.ActiveSecrets++
		if s.ExpiresAt != nil {
			out.GraceEndsAt = append(out.GraceEndsAt, s.ExpiresAt.UTC())
		}
	}
	slices.SortFunc(out.GraceEndsAt, time.Time.Compare)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printSecret prints a secret shown once.
func (a *app) printSecret(id string, sec secret.Secret, headline, after string) error {
	return a.print(clientSecretJSON{ClientID: id, ClientSecret: sec.Reveal()}, func(w io.Writer) {
		fmt.Fprintln(w, headline)
		fmt.Fprintf(w, "client_id:     %s\n", id)
		fmt.Fprintf(w, "client_secret: %s\n", sec.Reveal())
		fmt.Fprintln(w, "Copy the secret now: it is shown only this once, and Gatehouse keeps only its hash.")
		if after != "" {
			fmt.Fprintln(w, after)
		}
	})
}

func (a *app) clientCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Register and manage OAuth 2.0 clients"}
	var team string

	var (
		in     client.NewClient
		scopes []string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Register an OAuth 2.0 client; its secret is printed once",
		Example: `  gatehouse admin client create --team acme --name reporting \
    --grant-type client_credentials --auth-method client_secret_basic \
    --scope "audit.log:read team.login-history:read"`,
		Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			svc := e.Clients
			in.Scopes = nil
			for _, s := range scopes {
				in.Scopes = append(in.Scopes, strings.Fields(s)...)
			}
			c, sec, err := svc.Create(cmd.Context(), kernel.CLI, team, in)
			if err != nil {
				return err
			}
			return a.printSecret(c.ID, sec, fmt.Sprintf("created client %q in team %s", c.Name, team), "")
		}),
	}
	f := create.Flags()
	f.StringVar(&in.Name, "name", "", "the client's name, 1 to 128 characters (required)")
	f.StringSliceVar(&in.GrantTypes, "grant-type", nil, "client_credentials or authorization_code; repeat for both (required)")
	f.StringVar(&in.AuthMethod, "auth-method", "", "client_secret_basic or client_secret_post (required)")
	f.StringArrayVar(&scopes, "scope", nil, `space-separated scopes of the catalog, such as "audit.log:read team.login-history:read" (required; see admin scopes list)`)
	f.StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "redirect URI of the authorization_code grant: https, or http on a loopback host; repeat for more")
	f.DurationVar(&in.AccessTokenTTL, "access-token-ttl", 0, "lifetime of this client's access tokens, from 1m to 24h (0: the team's)")
	f.StringVar(&in.IDTokenAlg, "id-token-alg", "", "OpenID Connect: the algorithm of the client's ID tokens, RS256, ES256, ES384 or EdDSA (default RS256)")
	f.StringArrayVar(&in.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "OpenID Connect: where /oauth2/logout may send the user back, matched exactly; repeat for more")
	for _, name := range []string{"name", "grant-type", "auth-method", "scope"} {
		create.MarkFlagRequired(name)
	}

	list := &cobra.Command{
		Use: "list", Short: "List a team's clients", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			svc := e.Clients
			cs, err := svc.List(cmd.Context(), team)
			if err != nil {
				return err
			}
			now := time.Now()
			out := make([]clientJSON, 0, len(cs))
			for _, c := range cs {
				out = append(out, toClientJSON(c, now))
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
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			svc := e.Clients
			c, err := svc.Get(cmd.Context(), team, args[0])
			if err != nil {
				return err
			}
			out := toClientJSON(c, time.Now())
			return a.print(out, func(w io.Writer) { printClient(w, out) })
		}),
	}

	del := &cobra.Command{
		Use: "delete CLIENT_ID", Short: "Delete a client with its secrets, consents, tokens and permissions", Args: exactArgs("CLIENT_ID"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			svc := e.Clients
			if err := svc.Delete(cmd.Context(), kernel.CLI, team, args[0]); err != nil {
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
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			svc := e.Clients
			sec, err := svc.RegenerateSecret(cmd.Context(), kernel.CLI, team, args[0], grace)
			if err != nil {
				return err
			}
			after := "The old secret no longer works."
			if grace > 0 {
				after = fmt.Sprintf("The old secret keeps working for %s, until %s.", grace, rfc3339(time.Now().Add(grace)))
			}
			return a.printSecret(args[0], sec, fmt.Sprintf("new secret for client %s in team %s", args[0], team), after)
		}),
	}
	regen.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working, up to 168h (0: it stops at once)")

	for _, c := range []*cobra.Command{create, list, show, del, regen} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

func printClient(w io.Writer, c clientJSON) {
	orNone := func(s []string, sep string) string {
		if len(s) == 0 {
			return "-"
		}
		return strings.Join(s, sep)
	}
	ttl := "the team's"
	if c.AccessTokenTTLSeconds > 0 {
		ttl = (time.Duration(c.AccessTokenTTLSeconds) * time.Second).String()
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
		{"access token TTL", ttl},
		{"created", rfc3339(c.CreatedAt)},
		{"active secrets", secrets},
	} {
		fmt.Fprintf(w, "%-17s %s\n", row[0]+":", row[1])
	}
}

func (a *app) scopesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "scopes", Short: "The scope catalog: what OAuth clients may be registered with"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List the scopes with their descriptions", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			cat, err := compose.Catalog(a.cfg)
			if err != nil {
				return err
			}
			out := []scopeJSON{}
			for _, s := range cat.All() {
				out = append(out, scopeJSON{Name: s.Name, Description: s.Description})
			}
			return a.print(out, func(w io.Writer) {
				table(w, "NAME\tDESCRIPTION", func(tw io.Writer) {
					for _, s := range out {
						fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
					}
				})
			})
		},
	})
	return cmd
}

func toTeamSettingsJSON(team string, s store.TeamSettings) teamSettingsJSON {
	return teamSettingsJSON{
		Team:                  team,
		AccessTokenTTLSeconds: int64(s.AccessTokenTTL / time.Second),
		TokenScopeFormat:      s.ScopeFormat,
		SigningAlg:            s.SigningAlg,
	}
}

func printTeamSettings(w io.Writer, s teamSettingsJSON) {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	ttl := "server default"
	if s.AccessTokenTTLSeconds > 0 {
		ttl = (time.Duration(s.AccessTokenTTLSeconds) * time.Second).String()
	}
	fmt.Fprintf(w, "team:               %s\n", s.Team)
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
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			var c admin.TeamSettingsChange
			f := cmd.Flags()
			if f.Changed("access-token-ttl") {
				c.AccessTokenTTL = &ttl
			}
			if f.Changed("token-scope-format") {
				c.ScopeFormat = &format
			}
			if f.Changed("signing-alg") {
				c.SigningAlg = &alg
			}
			if c == (admin.TeamSettingsChange{}) {
				return usageError{errors.New("nothing to change: give --access-token-ttl, --token-scope-format or --signing-alg")}
			}
			s, err := e.Admin.SetTeamSettings(cmd.Context(), kernel.CLI, team, c)
			if err != nil {
				return err
			}
			out := toTeamSettingsJSON(team, s)
			return a.print(out, func(w io.Writer) { printTeamSettings(w, out) })
		}),
	}
	requireTeam(set, &team)
	set.Flags().DurationVar(&ttl, "access-token-ttl", 0, "lifetime of the team's access tokens, from 1m to 24h (0: the server default)")
	set.Flags().StringVar(&format, "token-scope-format", "", `the access token's scope claim: "array" (a JSON array) or "string" (RFC 9068, space-separated); "": the server default`)
	set.Flags().StringVar(&alg, "signing-alg", "", `algorithm of the team's new signing keys: ES384, ES256 or EdDSA; "": the server default`)

	show := &cobra.Command{
		Use: "show", Short: "Show a team's token settings", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			s, err := e.Admin.TeamSettings(cmd.Context(), team)
			if err != nil {
				return err
			}
			out := toTeamSettingsJSON(team, s)
			return a.print(out, func(w io.Writer) { printTeamSettings(w, out) })
		}),
	}
	requireTeam(show, &team)
	return []*cobra.Command{set, show}
}
