package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// rpLogout is the post-logout redirect URI of the tests' relying parties.
const rpLogout = "https://app.example/signed-out"

// rpScopes are the scopes the tests' relying parties may ask for.
var rpScopes = []string{"openid", "profile", "email", "audit.log:read"}

// oidcEnv is a running server (flowEnv: a user who can sign in, a browser
// that fills in the pages) with an OpenID Connect relying party
// registered, and a go-oidc provider found through the server's discovery
// document.
type oidcEnv struct {
	*flowEnv
	rp       creds
	ctx      context.Context // carries the HTTP client that reaches the test hosts
	provider *gooidc.Provider
}

// startOIDC starts a server and registers a relying party that uses
// client_secret_basic and the default ID token algorithm.
func startOIDC(t *testing.T, opts ...servertest.Option) *oidcEnv {
	t.Helper()
	e := &oidcEnv{flowEnv: flowEnvOn(t, servertest.Start(t, opts...))}
	e.rp = e.relyingParty(t, "Relying Party", client.AuthSecretBasic, "")
	e.ctx = gooidc.ClientContext(context.Background(), e.http)
	p, err := gooidc.NewProvider(e.ctx, teamURL("acme", ""))
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	e.provider = p
	return e
}

// relyingParty registers an OpenID Connect client: the authorization code
// grant, rpScopes, the test redirect URI and rpLogout, ID tokens signed
// with alg ("": RS256).
func (e *oidcEnv) relyingParty(t *testing.T, name, method, alg string) creds {
	t.Helper()
	c, sec, err := e.clients.Create(context.Background(), kernel.CLI, "acme", client.NewClient{
		Name: name, GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: method, Scopes: rpScopes,
		RedirectURIs: []string{appRedirect}, IDTokenAlg: alg, PostLogoutRedirectURIs: []string{rpLogout}})
	if err != nil {
		t.Fatal(err)
	}
	return creds{c, sec.Reveal()}
}

// config is golang.org/x/oauth2's configuration of relying party c, with
// the endpoints go-oidc discovered.
func (e *oidcEnv) config(c creds, scopes ...string) *oauth2.Config {
	ep := e.provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if c.AuthMethod == client.AuthSecretPost {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: c.ID, ClientSecret: c.secret, Endpoint: ep, RedirectURL: appRedirect, Scopes: scopes}
}

// verifier is go-oidc's ID token verifier for c, on the server's clock.
func (e *oidcEnv) verifier(c creds) *gooidc.IDTokenVerifier {
	return e.provider.Verifier(&gooidc.Config{ClientID: c.ID, Now: e.clock.Now})
}

// authURL is an authorization request of c for scope with a fresh PKCE
// verifier, state "st" and the extra parameters.
func (e *oidcEnv) authURL(c creds, scope string, extra map[string]string) (string, string) {
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return e.config(c, strings.Fields(scope)...).AuthCodeURL("st", opts...), verifier
}

// authorize runs an authorization request of c through b, which must be
// signed in, approving the consent page if one is shown, and returns the
// authorization response's parameters and the PKCE verifier.
func (e *oidcEnv) authorize(t *testing.T, b *browser, c creds, scope string, extra map[string]string) (url.Values, string) {
	t.Helper()
	u, verifier := e.authURL(c, scope, extra)
	q := b.approve(t, u)
	if q.Get("code") == "" || q.Get("state") != "st" || q.Get("iss") != teamURL("acme", "") {
		t.Fatalf("authorization response %v: want a code, state st and iss", q)
	}
	return q, verifier
}

// redeem exchanges a code with golang.org/x/oauth2 as relying party c and
// returns the token response and its ID token.
func (e *oidcEnv) redeem(t *testing.T, c creds, code, verifier string) (*oauth2.Token, string) {
	t.Helper()
	tok, err := e.config(c).Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("the token response has no id_token: %+v", tok)
	}
	return tok, raw
}

// login signs b in through the real pages and runs an authorization of c
// for scope, returning what the token endpoint answered.
func (e *oidcEnv) login(t *testing.T, b *browser, c creds, scope string, extra map[string]string) (*oauth2.Token, string) {
	t.Helper()
	q, verifier := e.authorize(t, b, c, scope, extra)
	return e.redeem(t, c, q.Get("code"), verifier)
}

// verified checks raw with go-oidc's verifier for c, its at_hash against
// accessToken (go-oidc's VerifyAccessToken), and returns the ID token and
// its claims.
func (e *oidcEnv) verified(t *testing.T, c creds, raw, accessToken string) (*gooidc.IDToken, map[string]any) {
	t.Helper()
	id, err := e.verifier(c).Verify(e.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if err := id.VerifyAccessToken(accessToken); err != nil {
		t.Fatalf("go-oidc VerifyAccessToken (at_hash): %v", err)
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return id, claims
}

// header decodes a JWS's protected header without verifying anything.
func joseHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// userinfo calls /oauth2/userinfo with method, the Authorization header
// auth (none when "") and the form body (none when nil).
func (e *oidcEnv) userinfo(t *testing.T, method, auth string, form url.Values) reply {
	t.Helper()
	hdr := map[string]string{}
	if auth != "" {
		hdr["Authorization"] = auth
	}
	return send(t, e.http, method, teamURL("acme", "/oauth2/userinfo"), form, hdr)
}

// sessions counts the user's live sessions in the store.
func (e *oidcEnv) sessions(t *testing.T) int {
	t.Helper()
	ss, err := e.st.ListSessions(context.Background(), "acme", e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range ss {
		if e.clock.Now().Before(s.ExpiresAt) {
			n++
		}
	}
	return n
}

// loginPage expects p to be the sign-in page and returns the value of its
// email field.
func loginPage(t *testing.T, p page) string {
	t.Helper()
	if p.url.Path != "/login" || p.status != http.StatusOK {
		t.Fatalf("want the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	_, after, ok := strings.Cut(p.body, `name="email"`)
	if !ok {
		t.Fatalf("the sign-in page has no email field:\n%s", p.body)
	}
	_, v, ok := strings.Cut(after, `value="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}
