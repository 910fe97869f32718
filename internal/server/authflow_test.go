package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// The whole authorization code flow with the real golang.org/x/oauth2
// client and a browser that drives the sign-in and consent forms over
// HTTP: the code comes back with state and iss, the exchange needs the
// PKCE verifier, the access token is the user's and reaches the API
// exactly when the user holds the permission and the token the scope, a
// refresh rotates the refresh token, and replaying the old one revokes
// the family.
func TestAuthorizationCodeFlow(t *testing.T) {
	e := startFlowEnv(t)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.http)
	cfg := oauth2.Config{
		ClientID:     e.app.ID,
		ClientSecret: e.app.secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   teamURL("acme", "/oauth2/authorize"),
			TokenURL:  teamURL("acme", "/oauth2/token"),
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: appRedirect,
		Scopes:      []string{"audit.log:read"},
	}
	verifier := oauth2.GenerateVerifier()
	const state = "af0ifjsldkj"
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	// Not signed in: the authorization endpoint sends the browser to sign
	// in, and back.
	b := e.browser(t)
	p := b.get(t, authURL)
	if p.url.Path != "/login" || !strings.Contains(p.url.Query().Get("return_to"), "/oauth2/authorize?") {
		t.Fatalf("want the sign-in page with return_to, got %d %s", p.status, p.url)
	}
	for _, want := range []string{`<html lang="en">`, "<h1>Sign in to acme</h1>", `<label for="email">`, `<label for="password">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}

	// Signed in, the browser is back at the authorization endpoint, which
	// asks for consent: the client's name and each scope's description.
	p = b.signIn(t, p, e.user.Email, e.password)
	if p.url.Path != "/oauth2/authorize" || p.status != http.StatusOK {
		t.Fatalf("after sign-in: %d %s\n%s", p.status, p.url, p.body)
	}
	for _, want := range []string{"Reporting App", "audit.log:read", describe(t, "audit.log:read"), "acme"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %q:\n%s", want, p.body)
		}
	}
	f := formFields(t, p, "/oauth2/authorize")
	f.Set("decision", "approve")
	q := redirected(t, b.post(t, teamURL("acme", "/oauth2/authorize"), f))
	if q.Get("state") != state || q.Get("iss") != "http://acme.gatehouse.test" || q.Get("code") == "" {
		t.Fatalf("authorization response %v: want code, state %q and iss", q, state)
	}

	// The exchange needs the verifier.
	if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with another verifier succeeded")
	}
	// That spent the code; get another (consent is remembered now).
	verifier = oauth2.GenerateVerifier()
	q = b.approve(t, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Extra("scope") != "audit.log:read" {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	_, claims := verify(t, e.jwks(t, "acme"), tok.AccessToken)
	for k, want := range map[string]any{"sub": e.user.ID, "client_id": e.app.ID, "azp": e.app.ID,
		"scope": []any{"audit.log:read"}, "iss": "http://acme.gatehouse.test"} {
		if diff := cmp.Diff(want, claims[k]); diff != "" {
			t.Errorf("claim %s (-want +got):\n%s", k, diff)
		}
	}

	// The access rule: the user's permissions, limited to the consented
	// scopes.
	api := func(path, token string) int {
		status, _, _ := e.call(t, "acme", "GET", path, "", "Bearer "+token)
		return status
	}
	if got := api("/api/team/audit-log", tok.AccessToken); got != http.StatusForbidden {
		t.Errorf("audit log without the permission: %d, want 403", got)
	}
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	e.grant(t, "acme", "user:"+e.user.Email, "read", "users")
	if _, ok := poll.Until(time.Second, func() bool { return api("/api/team/audit-log", tok.AccessToken) == 200 }); !ok {
		t.Errorf("audit log with the permission: %d, want 200", api("/api/team/audit-log", tok.AccessToken))
	}
	// The user may read users, but the token lacks the scope.
	if got := api("/api/team/users", tok.AccessToken); got != http.StatusForbidden {
		t.Errorf("users without the scope: %d, want 403", got)
	}

	// A refresh through a TokenSource rotates the refresh token.
	old := tok.RefreshToken
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == old || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: old %q new %q", old, fresh.RefreshToken)
	}
	if got := api("/api/team/audit-log", fresh.AccessToken); got != 200 {
		t.Fatalf("refreshed token at the API: %d", got)
	}

	// The old refresh token again: refused, and its family is revoked, with
	// the access tokens of the grant.
	wantOAuthError(t, e.refresh(t, e.app, old, ""), 400, "invalid_grant")
	wantOAuthError(t, e.refresh(t, e.app, fresh.RefreshToken, ""), 400, "invalid_grant")
	if _, ok := poll.Until(time.Second, func() bool { return api("/api/team/audit-log", fresh.AccessToken) == 401 }); !ok {
		t.Errorf("the access token of a replayed family still works")
	}
	if activeAt(t, e.http, "acme", e.app, fresh.AccessToken) {
		t.Errorf("introspection: the access token of a replayed family is active")
	}
	if evs := e.auditEvents(t, "acme", "refresh.replay"); len(evs) != 1 || evs[0].Target != "user:"+e.user.ID {
		t.Errorf("refresh.replay events %+v", evs)
	}
	if evs := e.auditEvents(t, "acme", "consent.grant"); len(evs) != 1 || evs[0].Actor != "user:"+e.user.Email {
		t.Errorf("consent.grant events %+v", evs)
	}
	if evs := e.auditEvents(t, "acme", "login.success"); len(evs) != 1 {
		t.Errorf("login.success events %+v", evs)
	}
}

// Authorization requests that cannot be trusted with a redirect get an
// error page and go nowhere; the rest go back to the client with error,
// state and iss.
func TestAuthorizeErrors(t *testing.T) {
	e := startFlowEnv(t)
	cc := e.register(t, "acme", "client_secret_basic", 0, "audit.log:read") // client credentials only
	_, challenge := pkce(t)
	good := codeParams(e.app, "audit.log:read", "st-1", challenge)
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	b := e.browser(t)

	t.Run("no redirect", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			params map[string]string
			rawURL string
		}{
			{"unknown client", with("client_id", "6b0e8f9e-4c1a-4c55-9a43-2f1f3b3a3c11"), ""},
			{"no client", with("client_id", ""), ""},
			{"client of another team", nil, authorizeURL("beta", good)},
			{"client not registered for the flow", with("client_id", cc.ID), ""},
			{"redirect URI not registered", with("redirect_uri", "https://evil.example/cb"), ""},
			{"redirect URI differs by a slash", with("redirect_uri", appRedirect+"/"), ""},
			{"redirect URI differs by a query", with("redirect_uri", appRedirect+"?x=1"), ""},
			{"redirect URI repeated", nil, authorizeURL("acme", good) + "&redirect_uri=" + "https%3A%2F%2Fevil.example%2Fcb"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := tc.rawURL
				if u == "" {
					u = authorizeURL("acme", tc.params)
				}
				p := b.get(t, u)
				if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
					t.Fatalf("got %d Location %q, want an error page", p.status, p.header.Get("Location"))
				}
				if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, `role="alert"`) {
					t.Errorf("error page: %s\n%s", p.header.Get("Content-Type"), p.body)
				}
				if strings.Contains(p.body, "evil.example") {
					t.Errorf("the error page links to the unregistered URI")
				}
			})
		}
	})

	t.Run("redirected", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			params map[string]string
			code   string
		}{
			{"missing PKCE", with("code_challenge", "", "code_challenge_method", ""), "invalid_request"},
			{"plain PKCE", with("code_challenge_method", "plain"), "invalid_request"},
			{"challenge without method", with("code_challenge_method", ""), "invalid_request"},
			{"malformed challenge", with("code_challenge", "short"), "invalid_request"},
			{"no response_type", with("response_type", ""), "invalid_request"},
			{"token response_type", with("response_type", "token"), "unsupported_response_type"},
			{"scope not allowed", with("scope", "audit.log:read user-provisioning.scim"), "invalid_scope"},
			{"scope unknown", with("scope", "studio"), "invalid_scope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := redirected(t, b.get(t, authorizeURL("acme", tc.params)))
				if q.Get("error") != tc.code || q.Get("state") != "st-1" || q.Get("iss") != "http://acme.gatehouse.test" ||
					q.Get("error_description") == "" || q.Has("code") {
					t.Fatalf("got %v, want error %s with state and iss", q, tc.code)
				}
			})
		}
	})

	t.Run("redirect URI omitted, one registered", func(t *testing.T) {
		q := redirected(t, b.get(t, authorizeURL("acme", with("redirect_uri", "", "response_type", "token"))))
		if q.Get("error") != "unsupported_response_type" {
			t.Fatalf("got %v", q)
		}
	})
	t.Run("redirect URI omitted, several registered", func(t *testing.T) {
		two := e.codeClient(t, "acme", "two", "client_secret_basic", []string{appRedirect, "https://app.example/other"}, "audit.log:read")
		p := b.get(t, authorizeURL("acme", with("client_id", two.ID, "redirect_uri", "")))
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Fatalf("got %d %q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("the redirect URI's own query is kept", func(t *testing.T) {
		withQuery := e.codeClient(t, "acme", "q", "client_secret_basic", []string{appRedirect + "?tenant=7"}, "audit.log:read")
		p := b.get(t, authorizeURL("acme", with("client_id", withQuery.ID, "redirect_uri", appRedirect+"?tenant=7", "response_type", "x")))
		q := redirected(t, p)
		if q.Get("tenant") != "7" || q.Get("error") != "unsupported_response_type" {
			t.Fatalf("got %v", q)
		}
	})
}

// The Celonis guide's "authorization_code" curl is not how the flow starts: the
// answer says where it does.
func TestSeedAuthorizationCodeCurl(t *testing.T) {
	e := startFlowEnv(t)
	for _, tc := range []struct {
		name string
		form map[string]string
	}{
		{"guide's curl", map[string]string{"client_id": e.app.ID, "grant_type": "authorization_code", "response_type": "code",
			"redirect_uri": appRedirect, "scope": "audit.log:read"}},
		{"authenticated, no code", map[string]string{"client_id": e.app.ID, "client_secret": e.app.secret,
			"grant_type": "authorization_code", "redirect_uri": appRedirect}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sendMultipart(t, e.http, teamURL("acme", "/oauth2/token"), tc.form)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
			if d, _ := r.body["error_description"].(string); !strings.Contains(d, "/oauth2/authorize") {
				t.Errorf("error_description %q does not point to /oauth2/authorize", d)
			}
		})
	}
}

// Codes are single-use, live 60 s, and are bound to the client, the
// redirect URI and the PKCE verifier. A replayed code revokes what was
// issued for it.
func TestAuthorizationCodeRules(t *testing.T) {
	e := startFlowEnv(t)
	// Granted before the sign-in: the profile the sign-in lands on reads
	// the user's grants (the console's navigation) into the server's
	// cache, which a later grant reaches only within a second.
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	b := e.signedIn(t)
	other := e.codeClient(t, "acme", "Other App", "client_secret_post", []string{appRedirect}, "audit.log:read")

	t.Run("replay revokes the tokens of the code", func(t *testing.T) {
		code, verifier := e.code(t, b, "audit.log:read")
		r := e.exchange(t, e.app, code, appRedirect, verifier)
		if r.status != 200 {
			t.Fatalf("first exchange: %d %s", r.status, r.raw)
		}
		access, refresh := r.body["access_token"].(string), r.body["refresh_token"].(string)
		if st, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+access); st != 200 {
			t.Fatalf("access token before the replay: %d", st)
		}
		wantOAuthError(t, e.exchange(t, e.app, code, appRedirect, verifier), 400, "invalid_grant")
		if _, ok := poll.Until(time.Second, func() bool {
			st, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+access)
			return st == 401
		}); !ok {
			t.Error("the access token of a replayed code still works at the API")
		}
		if activeAt(t, e.http, "acme", e.app, access) {
			t.Error("introspection: the access token of a replayed code is active")
		}
		wantOAuthError(t, e.refresh(t, e.app, refresh, ""), 400, "invalid_grant")
		if evs := e.auditEvents(t, "acme", "code.replay"); len(evs) != 1 {
			t.Errorf("code.replay events: %+v", evs)
		}
	})

	// A cut-off refuses the tokens of its grant issued in its second.
	e.clock.Advance(2 * time.Second)

	for _, tc := range []struct {
		name     string
		client   creds
		redirect string
		verifier func(good string) string
		advance  time.Duration
		status   int
		code     string
	}{
		{"expired after 60 s", e.app, appRedirect, same, 61 * time.Second, 400, "invalid_grant"},
		{"other client", other, appRedirect, same, 0, 400, "invalid_grant"},
		{"other redirect URI", e.app, "https://app.example/other", same, 0, 400, "invalid_grant"},
		{"wrong verifier", e.app, appRedirect, func(string) string { v, _ := pkce(t); return v }, 0, 400, "invalid_grant"},
		{"missing verifier", e.app, appRedirect, func(string) string { return "" }, 0, 400, "invalid_request"},
		{"malformed verifier", e.app, appRedirect, func(string) string { return "short" }, 0, 400, "invalid_request"},
		{"unknown code", e.app, appRedirect, same, 0, 400, "invalid_grant"},
		{"good after 59 s", e.app, appRedirect, same, 59 * time.Second, 200, ""},
		{"redirect URI omitted, one registered", e.app, "", same, 0, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := e.code(t, b, "audit.log:read")
			if tc.name == "unknown code" {
				// Another first character (a fixed one would be the code's
				// own one time in 64).
				first := "x"
				if code[0] == 'x' {
					first = "y"
				}
				code = first + code[1:]
			}
			e.clock.Advance(tc.advance)
			r := e.exchange(t, tc.client, code, tc.redirect, tc.verifier(verifier))
			if tc.status == 200 {
				if r.status != 200 || r.body["refresh_token"] == nil {
					t.Fatalf("got %d %s", r.status, r.raw)
				}
				return
			}
			wantOAuthError(t, r, tc.status, tc.code)
		})
	}

	t.Run("a spent code stays spent", func(t *testing.T) {
		code, verifier := e.code(t, b, "audit.log:read")
		wantOAuthError(t, e.exchange(t, e.app, code, appRedirect, "wrong-"+verifier), 400, "invalid_grant")
		wantOAuthError(t, e.exchange(t, e.app, code, appRedirect, verifier), 400, "invalid_grant")
	})
}

func same(v string) string { return v }

// Refresh tokens rotate on every use, may narrow the scope but not widen
// it, expire when idle and absolutely, and a spent one presented again
// revokes its family.
func TestRefreshTokenRules(t *testing.T) {
	e := startFlowEnv(t, func(c *config.Config) {
		c.RefreshIdleTTL = time.Hour
		c.RefreshAbsoluteTTL = 3 * time.Hour
	})
	b := e.signedIn(t)
	const both = "audit.log:read team.user-group-info:read"

	t.Run("rotation and scopes", func(t *testing.T) {
		_, rt := e.tokens(t, b, both)
		r := e.refresh(t, e.app, rt, "audit.log:read")
		if r.status != 200 || r.body["scope"] != "audit.log:read" {
			t.Fatalf("narrower: %d %s", r.status, r.raw)
		}
		next := r.body["refresh_token"].(string)
		if next == rt {
			t.Fatal("the refresh token was not rotated")
		}
		// The new refresh token keeps the granted scopes.
		r = e.refresh(t, e.app, next, "")
		if r.status != 200 || r.body["scope"] != both {
			t.Fatalf("default scope after a narrower refresh: %d %s", r.status, r.raw)
		}
		next = r.body["refresh_token"].(string)
		wantOAuthError(t, e.refresh(t, e.app, next, "audit.log:read team.login-history:read"), 400, "invalid_scope")
		wantOAuthError(t, e.refresh(t, e.app, next, "user-provisioning.scim"), 400, "invalid_scope")
		// A refused scope does not spend the token.
		if r := e.refresh(t, e.app, next, ""); r.status != 200 {
			t.Fatalf("after invalid_scope: %d %s", r.status, r.raw)
		}
	})

	t.Run("another client", func(t *testing.T) {
		_, rt := e.tokens(t, b, both)
		other := e.codeClient(t, "acme", "Other", "client_secret_basic", []string{appRedirect}, "audit.log:read")
		wantOAuthError(t, e.refresh(t, other, rt, ""), 400, "invalid_grant")
		if r := e.refresh(t, e.app, rt, ""); r.status != 200 {
			t.Fatalf("the owner after another client tried: %d %s", r.status, r.raw)
		}
	})

	t.Run("guide's renewal request", func(t *testing.T) {
		post := e.codeClient(t, "acme", "Post App", "client_secret_post", []string{appRedirect}, "audit.log:read", "team.user-group-info:read")
		verifier, challenge := pkce(t)
		q := b.approve(t, authorizeURL("acme", codeParams(post, both, "s", challenge)))
		r := e.exchange(t, post, q.Get("code"), appRedirect, verifier)
		if r.status != 200 {
			t.Fatalf("exchange: %d %s", r.status, r.raw)
		}
		r = sendMultipart(t, e.http, teamURL("acme", "/oauth2/token"), map[string]string{
			"client_id": post.ID, "client_secret": post.secret, "refresh_token": r.body["refresh_token"].(string),
			"grant_type": "refresh_token", "scope": "team.user-group-info:read"})
		if r.status != 200 || r.body["scope"] != "team.user-group-info:read" || r.body["refresh_token"] == nil {
			t.Fatalf("renewal: %d %s", r.status, r.raw)
		}
		checkNoStore(t, r.header)
	})

	t.Run("idle expiry", func(t *testing.T) {
		_, rt := e.tokens(t, b, both)
		e.clock.Advance(59 * time.Minute)
		r := e.refresh(t, e.app, rt, "")
		if r.status != 200 {
			t.Fatalf("within the idle time: %d %s", r.status, r.raw)
		}
		e.clock.Advance(61 * time.Minute)
		wantOAuthError(t, e.refresh(t, e.app, r.body["refresh_token"].(string), ""), 400, "invalid_grant")
	})

	t.Run("absolute expiry", func(t *testing.T) {
		_, rt := e.tokens(t, b, both)
		// Used every 50 minutes, the family still ends 3 h after it began.
		for i := 0; i < 3; i++ {
			e.clock.Advance(50 * time.Minute)
			r := e.refresh(t, e.app, rt, "")
			if r.status != 200 {
				t.Fatalf("refresh %d: %d %s", i, r.status, r.raw)
			}
			rt = r.body["refresh_token"].(string)
		}
		e.clock.Advance(31 * time.Minute)
		wantOAuthError(t, e.refresh(t, e.app, rt, ""), 400, "invalid_grant")
	})

	t.Run("replay revokes the family", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		access, rt := e.tokens(t, b, both)
		r := e.refresh(t, e.app, rt, "")
		if r.status != 200 {
			t.Fatal(r.status)
		}
		next, nextAccess := r.body["refresh_token"].(string), r.body["access_token"].(string)
		wantOAuthError(t, e.refresh(t, e.app, rt, ""), 400, "invalid_grant")
		wantOAuthError(t, e.refresh(t, e.app, next, ""), 400, "invalid_grant")
		for _, tok := range []string{access, nextAccess} {
			if activeAt(t, e.http, "acme", e.app, tok) {
				t.Error("an access token of the replayed family is active")
			}
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		u, pw := e.newUser(t, "acme", "dora@example.com")
		bd := e.browser(t)
		bd.signIn(t, bd.get(t, teamURL("acme", "/login")), u.Email, pw)
		verifier, challenge := pkce(t)
		q := bd.approve(t, authorizeURL("acme", codeParams(e.app, both, "s", challenge)))
		r := e.exchange(t, e.app, q.Get("code"), appRedirect, verifier)
		if r.status != 200 {
			t.Fatal(r.status)
		}
		u.Disabled = true
		if err := e.st.UpdateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, e.refresh(t, e.app, r.body["refresh_token"].(string), ""), 400, "invalid_grant")
	})

	t.Run("revocation endpoint", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		access, rt := e.tokens(t, b, both)
		if r := revoke(t, e.http, "acme", e.app, rt); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantOAuthError(t, e.refresh(t, e.app, rt, ""), 400, "invalid_grant")
		if activeAt(t, e.http, "acme", e.app, access) {
			t.Error("the access token of a revoked refresh token is active")
		}
	})
}

// A remembered consent covers later requests for the same or fewer
// scopes; more scopes ask again; deny answers access_denied.
func TestConsentIsRemembered(t *testing.T) {
	e := startFlowEnv(t)
	b := e.signedIn(t)
	_, challenge := pkce(t)
	ask := func(scope string) page {
		return b.get(t, authorizeURL("acme", codeParams(e.app, scope, "st", challenge)))
	}
	isConsentPage := func(p page) bool {
		return p.status == 200 && strings.Contains(p.body, `action="/oauth2/authorize"`)
	}

	p := ask("audit.log:read")
	if !isConsentPage(p) {
		t.Fatalf("first request: %d %s", p.status, p.url)
	}
	f := formFields(t, p, "/oauth2/authorize")
	f.Set("decision", "deny")
	q := redirected(t, b.post(t, teamURL("acme", "/oauth2/authorize"), f))
	if q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Get("iss") == "" || q.Has("code") {
		t.Fatalf("deny: %v", q)
	}
	// Denying remembered nothing.
	if !isConsentPage(ask("audit.log:read")) {
		t.Fatal("after a denial the consent page is not shown again")
	}

	both := "audit.log:read team.user-group-info:read"
	if q := b.approve(t, authorizeURL("acme", codeParams(e.app, both, "st", challenge))); q.Get("code") == "" {
		t.Fatalf("approve: %v", q)
	}
	for _, scope := range []string{both, "audit.log:read", "team.user-group-info:read"} {
		if q := redirected(t, ask(scope)); q.Get("code") == "" {
			t.Errorf("scope %q: %v, want a code without asking", scope, q)
		}
	}
	// More scopes: asked again, and the consent becomes the union.
	p = ask("team.login-history:read")
	if !isConsentPage(p) {
		t.Fatalf("more scopes: %d, want the consent page", p.status)
	}
	f = formFields(t, p, "/oauth2/authorize")
	f.Set("decision", "approve")
	redirected(t, b.post(t, teamURL("acme", "/oauth2/authorize"), f))
	c, err := e.st.Consent(context.Background(), "acme", e.user.ID, e.app.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"audit.log:read", "team.login-history:read", "team.user-group-info:read"}
	if !slices.Equal(c.Scopes, want) {
		t.Errorf("consented scopes %v, want the union %v", c.Scopes, want)
	}
	if q := redirected(t, ask("")); q.Get("code") == "" {
		t.Errorf("all of the client's scopes after consenting to all: %v", q)
	}
}

// The profile lists the user's consents and revokes them; revocation by
// any process ends the refresh tokens and, within a second, the access
// tokens of the user and client on every node.
func TestConsentManagement(t *testing.T) {
	e := startFlowEnv(t)
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	b := e.signedIn(t)
	apiOK := func(tok string) bool {
		st, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+tok)
		return st == 200
	}

	t.Run("profile lists and revokes", func(t *testing.T) {
		access, rt := e.tokens(t, b, "audit.log:read")
		p := b.get(t, teamURL("acme", "/profile"))
		for _, want := range []string{"OAuth client management", "Reporting App", "audit.log:read",
			describe(t, "audit.log:read"), e.user.Email} {
			if !strings.Contains(p.body, want) {
				t.Errorf("profile lacks %q", want)
			}
		}
		if strings.Contains(p.body, ">never<") {
			t.Error("last used: never, after a code was redeemed")
		}
		action := "/profile/consents/" + e.app.ID + "/revoke"
		p = b.post(t, teamURL("acme", action), formFields(t, p, action))
		if p.url.Path != "/profile" || p.status != 200 || !strings.Contains(p.body, "You revoked your consent to Reporting App") {
			t.Fatalf("after revoking: %d %s\n%s", p.status, p.url, p.body)
		}
		if strings.Contains(p.body, action) {
			t.Error("the revoked consent is still listed")
		}
		wantOAuthError(t, e.refresh(t, e.app, rt, ""), 400, "invalid_grant")
		if _, ok := poll.Until(time.Second, func() bool { return !apiOK(access) }); !ok {
			t.Error("the access token works after the consent was revoked")
		}
		if evs := e.auditEvents(t, "acme", "consent.revoke"); len(evs) != 1 {
			t.Errorf("consent.revoke events %+v", evs)
		}
	})

	t.Run("JSON API", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		e.tokens(t, b, "audit.log:read")
		p := b.get(t, teamURL("acme", "/api/profile/consents"))
		var list struct {
			Consents []struct {
				ClientID   string     `json:"client_id"`
				ClientName string     `json:"client_name"`
				Scopes     []string   `json:"scopes"`
				GrantedAt  time.Time  `json:"granted_at"`
				LastUsedAt *time.Time `json:"last_used_at"`
			} `json:"items"`
			CSRFToken string `json:"csrf_token"`
		}
		if err := jsonUnmarshal(p.body, &list); err != nil || p.status != 200 {
			t.Fatalf("list: %d %s %v", p.status, p.body, err)
		}
		if len(list.Consents) != 1 || list.Consents[0].ClientID != e.app.ID || list.Consents[0].ClientName != "Reporting App" ||
			!slices.Equal(list.Consents[0].Scopes, []string{"audit.log:read"}) || list.Consents[0].LastUsedAt == nil ||
			list.Consents[0].GrantedAt.IsZero() || list.CSRFToken == "" {
			t.Fatalf("list: %s", p.body)
		}
		del := teamURL("acme", "/api/profile/consents/"+e.app.ID)
		if p := b.do(t, "DELETE", del, nil, nil); p.status != 403 {
			t.Errorf("DELETE without X-CSRF-Token: %d", p.status)
		}
		if p := b.do(t, "DELETE", del, nil, map[string]string{"X-CSRF-Token": list.CSRFToken, "Sec-Fetch-Site": "cross-site"}); p.status != 403 {
			t.Errorf("cross-site DELETE: %d", p.status)
		}
		if p := b.do(t, "DELETE", del, nil, map[string]string{"X-CSRF-Token": list.CSRFToken}); p.status != 204 {
			t.Fatalf("DELETE: %d %s", p.status, p.body)
		}
		if p := b.do(t, "DELETE", del, nil, map[string]string{"X-CSRF-Token": list.CSRFToken}); p.status != 404 {
			t.Errorf("DELETE again: %d", p.status)
		}
		if p := b.get(t, teamURL("acme", "/api/profile/consents")); p.status != 200 || !strings.Contains(p.body, `"items":[]`) {
			t.Errorf("list after delete: %d %s", p.status, p.body)
		}
		if p := e.browser(t).get(t, teamURL("acme", "/api/profile/consents")); p.status != 401 {
			t.Errorf("without a session: %d", p.status)
		}
	})

	t.Run("revoked by another process", func(t *testing.T) {
		e.clock.Advance(2 * time.Second)
		access, rt := e.tokens(t, b, "audit.log:read")
		if !apiOK(access) {
			t.Fatal("the access token does not work")
		}
		other := servertest.Open(t, "", e.dbPath)
		start := time.Now()
		if err := otherConsents(t, other, e.clock.Now).Revoke(context.Background(), otherActor, "acme", e.user.ID, e.app.ID); err != nil {
			t.Fatal(err)
		}
		took, ok := poll.Until(time.Second, func() bool { return !apiOK(access) })
		if !ok {
			t.Fatalf("the access token still works %v after another process revoked the consent", time.Since(start))
		}
		t.Logf("refused after %v", took)
		if activeAt(t, e.http, "acme", e.app, access) {
			t.Error("introspection: active after the consent was revoked")
		}
		wantOAuthError(t, e.refresh(t, e.app, rt, ""), 400, "invalid_grant")
		if _, err := e.st.Consent(context.Background(), "acme", e.user.ID, e.app.ID); err == nil {
			t.Error("the consent is still there")
		}
		// A new consent, later, works again.
		e.clock.Advance(2 * time.Second)
		access, _ = e.tokens(t, b, "audit.log:read")
		if !apiOK(access) {
			t.Error("a token of a new consent is refused")
		}
	})
}

// describe is a scope's description in the catalog.
func describe(t *testing.T, name string) string {
	t.Helper()
	cat, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cat.Describe(name)
	if !ok || d == "" {
		t.Fatalf("no description of %s", name)
	}
	return d
}

// A browser that opens the team's root lands on the sign-in page, which
// brings it back to the profile; signed in, on the profile.
func TestTeamRootInABrowser(t *testing.T) {
	e := startFlowEnv(t)
	accept := map[string]string{"Accept": "text/html"}
	b := e.browser(t)
	p := b.do(t, "GET", teamURL("acme", "/"), nil, accept)
	if p.status != http.StatusOK || p.url.Path != "/login" || p.url.Query().Get("return_to") != "/profile" {
		t.Fatalf("GET / without a session ended at %d %s, want the sign-in page returning to /profile", p.status, p.url)
	}
	if p = b.signIn(t, p, e.user.Email, e.password); p.url.Path != "/profile" || p.status != http.StatusOK {
		t.Fatalf("signing in from the root ended at %d %s, want the profile", p.status, p.url)
	}
	s := e.signedIn(t)
	if p := s.do(t, "GET", teamURL("acme", "/"), nil, accept); p.status != http.StatusOK || p.url.Path != "/profile" {
		t.Fatalf("GET / signed in ended at %d %s, want the profile", p.status, p.url)
	}
}
