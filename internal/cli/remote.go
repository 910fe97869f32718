package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/server"
	teamname "github.com/gatehouse/gatehouse/internal/team"
)

// The admin commands that act on one team run in one of two modes, on one
// code path: each is a call of the admin API through adminclient. In local
// mode (no --url) the API's handlers run in this process on the database
// (adminapi's Local routes, as kernel.CLI); in remote mode (--url or
// GATEHOUSE_URL) they run on the server at that URL, with the credential
// of the environment. So a command prints the same text and JSON and exits
// with the same code in either mode.

// The environment variables of remote mode. The credential is read only
// from the environment, never from a flag, so that it stays out of shell
// histories and process listings.
const (
	envURL          = "GATEHOUSE_URL"
	envToken        = "GATEHOUSE_TOKEN"
	envClientID     = "GATEHOUSE_CLIENT_ID"
	envClientSecret = "GATEHOUSE_CLIENT_SECRET"
)

// remoteURL is the admin commands' --url, else GATEHOUSE_URL: "" is local
// mode.
func (a *app) remoteURL(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("url"); f != nil && f.Changed {
		return a.url
	}
	v, _ := a.lookupEnv(envURL)
	return v
}

// teamCall is the body of a command that acts on one team through the
// admin API: c calls it, team names it.
type teamCall func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error

// withTeam wraps the body of an admin command that acts on one team: in
// local mode on the database, with --team required; in remote mode on the
// server at --url, which names the team (--team may name it again, but
// not another).
func (a *app) withTeam(team *string, fn teamCall) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := a.load(cmd); err != nil {
			return err
		}
		if u := a.remoteURL(cmd); u != "" {
			c, err := a.remoteClient(u, *team)
			if err != nil {
				return err
			}
			return fn(cmd, c, c.Team(), args)
		}
		if *team == "" {
			return usageError{errors.New(`required flag(s) "team" not set (or give --url to act on a server)`)}
		}
		if err := kernel.AsInvalid(teamname.ValidateName(*team)); err != nil {
			return err
		}
		e, err := a.open(cmd, false, false)
		if err != nil {
			return err
		}
		defer e.close()
		c, err := a.localClient(e, *team)
		if err != nil {
			return err
		}
		return fn(cmd, c, *team, args)
	}
}

// remoteClient is the admin API's client of the team at teamURL, with the
// credential of the environment.
func (a *app) remoteClient(teamURL, team string) (*adminclient.Client, error) {
	u, err := url.Parse(teamURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, usageError{fmt.Errorf("--url %q: want the team's URL, such as https://acme.gatehouse.example", teamURL)}
	}
	token, _ := a.lookupEnv(envToken)
	id, _ := a.lookupEnv(envClientID)
	sec, _ := a.lookupEnv(envClientSecret)
	var cred adminclient.Option
	switch {
	case token != "" && (id != "" || sec != ""):
		return nil, usageError{fmt.Errorf("give %s, or %s and %s, not both", envToken, envClientID, envClientSecret)}
	case token != "":
		cred = adminclient.WithToken(token)
	case id != "" && sec != "":
		cred = adminclient.WithClientCredentials(id, sec)
	default:
		return nil, usageError{fmt.Errorf("--url needs a credential in the environment: %s (an access token with scope team.admin, or a user API key), or %s and %s of a client allowed team.admin",
			envToken, envClientID, envClientSecret)}
	}
	c, err := adminclient.New(strings.TrimRight(teamURL, "/"), cred)
	if err != nil {
		return nil, usageError{err}
	}
	if team != "" && team != c.Team() {
		return nil, usageError{fmt.Errorf("--team %s, but --url %s is team %s's", team, teamURL, c.Team())}
	}
	return c, nil
}

// localClient is the admin API's client of a team on the database of e:
// its handlers run in this process (adminapi's Local routes).
func (a *app) localClient(e *env, team string) (*adminclient.Client, error) {
	api := adminapi.New(adminapi.Options{Admin: e.Admin, Clients: e.Clients, Keys: e.StaticKeys, Signing: e.Signing,
		Consents: e.Consents, Principals: e.Checker, Scopes: e.Scopes, Routes: a.localRoutes, Now: e.Now})
	h := api.Local(e.Store, e.Log)
	// The host names the team; nothing is dialed, and Local reads no
	// credential.
	return adminclient.New("http://"+team+".local.invalid",
		adminclient.WithHTTPClient(&http.Client{Transport: inProcess{h}}), adminclient.WithToken("local"))
}

// localRoutes are the routes whose scopes a migrated key's client may
// need, in local mode: those migrate loaded (--routes), else the built-in
// team APIs'.
func (a *app) localRoutes() []authz.Route {
	if a.routes == nil {
		return server.MigrationRoutes(nil)
	}
	return a.routes
}

// inProcess is a RoundTripper that serves each request with a handler of
// this process.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// localOnly wraps the body of a command that acts on the installation
// rather than on one team (teams themselves): it has no admin API, so it
// refuses remote mode.
func (a *app) localOnly(fn func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if a.remoteURL(cmd) != "" {
			return usageError{fmt.Errorf("%s acts on the installation, not on one team: run it where the database is, without --url or %s", commandPath(cmd), envURL)}
		}
		return fn(cmd, args)
	}
}

// localOnlyEnv is withEnv for a command that acts on the installation.
func (a *app) localOnlyEnv(fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return a.localOnly(a.withEnv(fn))
}
