package server_test

// The OpenID Foundation's Basic OP certification test modules, replicated
// against a real server with real relying-party libraries
// (github.com/coreos/go-oidc/v3 and golang.org/x/oauth2) and a browser that
// fills in the real sign-in and consent pages. docs/OIDC.md maps every
// module to its test here.

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// oidcc-server: the whole flow. Discovery, the sign-in and consent pages,
// the code with state and iss, the exchange with PKCE and Basic client
// authentication, an ID token that go-oidc verifies (signature against the
// JWKS, iss, aud, exp, nonce, at_hash) with every claim of the contract,
// and the userinfo endpoint. On SQLite and on PostgreSQL.
func TestOIDCServer(t *testing.T) {
	for _, tc := range []struct {
		backend string
		opts    []servertest.Option
	}{
		{"sqlite", nil},
		{"postgres", []servertest.Option{servertest.WithPostgres()}},
	} {
		t.Run(tc.backend, func(t *testing.T) { testOIDCServer(t, startOIDC(t, tc.opts...)) })
	}
}

func testOIDCServer(t *testing.T, e *oidcEnv) {
	const nonce = "n-0S6_WzA2Mj"
	b := e.browser(t)
	u, verifier := e.authURL(e.rp, "openid profile email", map[string]string{"nonce": nonce})
	p := b.signIn(t, b.get(t, u), e.user.Email, e.password)
	for _, want := range []string{"Relying Party", "openid", describe(t, "openid"), describe(t, "email")} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	f := formFields(t, p, "/oauth2/authorize")
	if f.Get("nonce") != nonce {
		t.Errorf("the consent form carries nonce %q, want %q", f.Get("nonce"), nonce)
	}
	f.Set("decision", "approve")
	q := redirected(t, b.post(t, teamURL("acme", "/oauth2/authorize"), f))
	if q.Get("state") != "st" || q.Get("iss") != teamURL("acme", "") {
		t.Fatalf("authorization response %v", q)
	}
	signedInAt := e.clock.Now()
	tok, raw := e.redeem(t, e.rp, q.Get("code"), verifier)

	id, claims := e.verified(t, e.rp, raw, tok.AccessToken)
	if id.Nonce != nonce {
		t.Errorf("nonce %q, want %q", id.Nonce, nonce)
	}
	if h := joseHeader(t, raw); h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] == "" {
		t.Errorf("ID token header %v, want RS256, typ JWT and a kid", h)
	}
	iat := claims["iat"].(float64)
	authTime := claims["auth_time"].(float64)
	if authTime > iat || iat-authTime > 5 || signedInAt.Unix()-int64(authTime) > 5 {
		t.Errorf("auth_time %v, iat %v: want the sign-in's time, at most iat", authTime, iat)
	}
	want := map[string]any{"iss": teamURL("acme", ""), "sub": e.user.ID, "aud": e.rp.ID, "azp": e.rp.ID,
		"nonce": nonce, "email": e.user.Email, "email_verified": false, "name": e.user.Name,
		"iat": iat, "exp": iat + 900, "auth_time": authTime, "at_hash": claims["at_hash"]}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("ID token claims (-want +got):\n%s", diff)
	}
	// The access token's sub is the ID token's: one user, one identifier.
	_, access := verify(t, e.jwks(t, "acme"), tok.AccessToken)
	if access["sub"] != id.Subject {
		t.Errorf("access token sub %v, ID token sub %s", access["sub"], id.Subject)
	}

	info, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc UserInfo: %v", err)
	}
	if info.Subject != e.user.ID || info.Email != e.user.Email || info.EmailVerified {
		t.Errorf("userinfo %+v", info)
	}
}

// oidcc-discovery-endpoint-verification: the discovery document has what
// relying parties rely on, and go-oidc accepts it (issuer equal to the
// URL it was fetched from).
func TestOIDCDiscovery(t *testing.T) {
	e := startOIDC(t)
	var claims struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	if err := e.provider.Claims(&claims); err != nil || claims.UserInfo != teamURL("acme", "/oauth2/userinfo") {
		t.Errorf("go-oidc's userinfo_endpoint %q (%v)", claims.UserInfo, err)
	}
	r := send(t, e.http, "GET", teamURL("acme", "/.well-known/openid-configuration"), nil, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("discovery: %d %s", r.status, r.header.Get("Content-Type"))
	}
	u := teamURL("acme", "")
	for _, tc := range []struct {
		field string
		want  any
	}{
		{"issuer", u},
		{"authorization_endpoint", u + "/oauth2/authorize"},
		{"token_endpoint", u + "/oauth2/token"},
		{"userinfo_endpoint", u + "/oauth2/userinfo"},
		{"end_session_endpoint", u + "/oauth2/logout"},
		{"jwks_uri", u + "/oauth2/jwks"},
		{"response_types_supported", []any{"code"}},
		{"response_modes_supported", []any{"query"}},
		{"subject_types_supported", []any{"public"}},
		{"id_token_signing_alg_values_supported", []any{"RS256", "ES256", "ES384", "EdDSA"}},
		{"token_endpoint_auth_methods_supported", []any{"client_secret_basic", "client_secret_post"}},
		{"code_challenge_methods_supported", []any{"S256"}},
		{"claims_supported", []any{"sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "email_verified", "name"}},
		{"request_parameter_supported", false},
		{"request_uri_parameter_supported", false},
		{"claims_parameter_supported", false},
	} {
		if diff := cmp.Diff(tc.want, r.body[tc.field]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.field, diff)
		}
	}
	scopes, _ := r.body["scopes_supported"].([]any)
	for _, s := range []string{"openid", "profile", "email"} {
		if !slices.Contains(scopes, any(s)) {
			t.Errorf("scopes_supported %v lacks %s", scopes, s)
		}
	}
	// Both well-known documents are the same document.
	other := send(t, e.http, "GET", teamURL("acme", "/.well-known/oauth-authorization-server"), nil, nil)
	if diff := cmp.Diff(r.body, other.body); diff != "" {
		t.Errorf("the two metadata documents differ (-openid +oauth):\n%s", diff)
	}
}

// oidcc-idtoken-signature: each algorithm a client may register signs its
// ID tokens, with a kid of the JWKS, and go-oidc verifies them; the key is
// the team's, made on first need and kept.
func TestOIDCIDTokenSignature(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	for _, alg := range client.IDTokenAlgs {
		t.Run(alg, func(t *testing.T) {
			c := e.relyingParty(t, "RP "+alg, client.AuthSecretBasic, alg)
			tok, raw := e.login(t, b, c, "openid", nil)
			h := joseHeader(t, raw)
			if h["alg"] != alg || h["typ"] != "JWT" {
				t.Fatalf("header %v, want alg %s and typ JWT", h, alg)
			}
			set := e.jwks(t, "acme")
			keys := set.Key(h["kid"].(string))
			if len(keys) != 1 || keys[0].Algorithm != alg || !keys[0].IsPublic() {
				t.Fatalf("JWKS keys of kid %v: %+v", h["kid"], keys)
			}
			// Only this algorithm: a verifier that takes RS256 alone
			// refuses the others.
			v := e.provider.Verifier(&gooidc.Config{ClientID: c.ID, Now: e.clock.Now, SupportedSigningAlgs: []string{alg}})
			id, err := v.Verify(e.ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc Verify: %v", err)
			}
			if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			// The next ID token is signed by the same key.
			_, again := e.login(t, b, c, "openid", nil)
			if joseHeader(t, again)["kid"] != h["kid"] {
				t.Errorf("the second ID token is signed by another key")
			}
		})
	}
}

// oidcc-idtoken-unsigned: alg none is not offered (the discovery document
// does not list it) and a client cannot register it, so no ID token is
// ever unsigned; an unsigned token is no hint either.
func TestOIDCIDTokenUnsigned(t *testing.T) {
	e := startOIDC(t)
	algs, _ := send(t, e.http, "GET", teamURL("acme", "/.well-known/openid-configuration"), nil, nil).body["id_token_signing_alg_values_supported"].([]any)
	if slices.Contains(algs, any("none")) {
		t.Errorf("id_token_signing_alg_values_supported %v offers none", algs)
	}
	_, _, err := e.clients.Create(context.Background(), kernel.CLI, "acme", client.NewClient{Name: "unsigned",
		GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: client.AuthSecretBasic, Scopes: []string{"openid"},
		RedirectURIs: []string{appRedirect}, IDTokenAlg: "none"})
	if err == nil {
		t.Fatal("a client registered id_token_signed_response_alg none")
	}
	b := e.signedIn(t)
	unsigned := b64url(`{"alg":"none","typ":"JWT"}`) + "." + b64url(`{"iss":"`+teamURL("acme", "")+`","sub":"`+e.user.ID+`","aud":"`+e.rp.ID+`"}`) + "."
	u, _ := e.authURL(e.rp, "openid", map[string]string{"id_token_hint": unsigned})
	q := redirected(t, b.get(t, u))
	if q.Get("error") != "invalid_request" {
		t.Errorf("an unsigned id_token_hint: %v, want invalid_request", q)
	}
}

// oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body:
// the access token as a Bearer header on GET and POST, or as a form field
// of a POST (RFC 6750 sections 2.1 and 2.2); and RFC 6750's refusals.
func TestOIDCUserInfo(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	tok, _ := e.login(t, b, e.rp, "openid email", nil)
	bearer := "Bearer " + tok.AccessToken
	wantClaims := map[string]any{"sub": e.user.ID, "email": e.user.Email, "email_verified": false}
	for _, tc := range []struct {
		module, method, auth string
		form                 url.Values
	}{
		{"oidcc-userinfo-get", "GET", bearer, nil},
		{"oidcc-userinfo-post-header", "POST", bearer, nil},
		{"oidcc-userinfo-post-body", "POST", "", url.Values{"access_token": {tok.AccessToken}}},
	} {
		t.Run(tc.module, func(t *testing.T) {
			r := e.userinfo(t, tc.method, tc.auth, tc.form)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s %s", r.status, r.header.Get("Content-Type"), r.raw)
			}
			checkNoStore(t, r.header)
			if diff := cmp.Diff(wantClaims, r.body); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}

	// A token without openid, a client's token, a revoked one and an
	// expired one are refused, each with its RFC 6750 answer.
	plain, _ := e.tokens(t, b, "audit.log:read")
	cc := e.register(t, "acme", client.AuthSecretBasic, 0, "openid")
	ccToken := e.h.Token(t, "acme", cc.ID, cc.secret)
	revoked, _ := e.login(t, b, e.rp, "openid", nil)
	if r := send(t, e.http, "POST", teamURL("acme", "/oauth2/revoke"), url.Values{"token": {revoked.AccessToken}},
		map[string]string{"Authorization": basic(e.rp.ID, e.rp.secret)}); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		name, method, auth string
		form               url.Values
		query              string
		status             int
		code               string // RFC 6750 error in WWW-Authenticate; "" for none
	}{
		{"no token", "GET", "", nil, "", 401, ""},
		{"token in the query string", "GET", "", nil, "?access_token=" + tok.AccessToken, 401, ""},
		{"another scheme", "GET", basic(e.rp.ID, e.rp.secret), nil, "", 401, ""},
		{"garbage", "GET", "Bearer eyJ.not.a-token", nil, "", 401, "invalid_token"},
		{"empty Bearer", "GET", "Bearer ", nil, "", 400, "invalid_request"},
		{"header and body", "POST", bearer, url.Values{"access_token": {tok.AccessToken}}, "", 400, "invalid_request"},
		{"repeated body field", "POST", "", url.Values{"access_token": {tok.AccessToken, tok.AccessToken}}, "", 400, "invalid_request"},
		{"without openid", "GET", "Bearer " + plain, nil, "", 403, "insufficient_scope"},
		{"a client's token", "GET", "Bearer " + ccToken, nil, "", 401, "invalid_token"},
		{"revoked", "GET", "Bearer " + revoked.AccessToken, nil, "", 401, "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			r := send(t, e.http, tc.method, teamURL("acme", "/oauth2/userinfo"+tc.query), tc.form, hdr)
			challenge := r.header.Get("WWW-Authenticate")
			if r.status != tc.status || !strings.HasPrefix(challenge, `Bearer realm="acme.gatehouse.test"`) {
				t.Fatalf("%d, WWW-Authenticate %q; want %d and a Bearer challenge", r.status, challenge, tc.status)
			}
			if (tc.code == "") != !strings.Contains(challenge, "error=") || !strings.Contains(challenge, `error="`+tc.code+`"`) && tc.code != "" {
				t.Errorf("WWW-Authenticate %q, want error %q", challenge, tc.code)
			}
			if tc.code == "insufficient_scope" && !strings.Contains(challenge, `scope="openid"`) {
				t.Errorf("WWW-Authenticate %q does not name scope openid", challenge)
			}
		})
	}
	e.clock.Advance(16 * time.Minute) // past the lifetime and the leeway
	if r := e.userinfo(t, "GET", bearer, nil); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("an expired token: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: nonce is
// optional in the code flow; the ID token then has none.
func TestOIDCWithoutNonce(t *testing.T) {
	e := startOIDC(t)
	tok, raw := e.login(t, e.signedIn(t), e.rp, "openid", nil)
	_, claims := e.verified(t, e.rp, raw, tok.AccessToken)
	if _, ok := claims["nonce"]; ok {
		t.Errorf("an ID token without a nonce requested has nonce %v", claims["nonce"])
	}
}

// oidcc-scope-profile, oidcc-scope-email, oidcc-scope-all,
// oidcc-ensure-other-scope-order-succeeds, oidcc-scope-address,
// oidcc-scope-phone: the scopes release their claims in the ID token and at
// the userinfo endpoint, in any order; address and phone are not offered,
// so asking for them is invalid_scope at the client's redirect URI.
func TestOIDCScopes(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	for _, tc := range []struct {
		module, scope string
		claims        map[string]any // besides sub
		err           string
	}{
		{"oidcc-scope-profile", "openid profile", map[string]any{"name": "Ann Example"}, ""},
		{"oidcc-scope-email", "openid email", map[string]any{"email": "ann@example.com", "email_verified": false}, ""},
		{"oidcc-scope-all", "openid profile email", map[string]any{"name": "Ann Example", "email": "ann@example.com", "email_verified": false}, ""},
		{"oidcc-ensure-other-scope-order-succeeds", "email openid", map[string]any{"email": "ann@example.com", "email_verified": false}, ""},
		{"oidcc-scope-address", "openid address", nil, "invalid_scope"},
		{"oidcc-scope-phone", "openid phone", nil, "invalid_scope"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			if tc.err != "" {
				u, _ := e.authURL(e.rp, tc.scope, nil)
				if q := redirected(t, b.get(t, u)); q.Get("error") != tc.err || q.Get("state") != "st" {
					t.Errorf("scope %s: %v, want %s with state", tc.scope, q, tc.err)
				}
				return
			}
			tok, raw := e.login(t, b, e.rp, tc.scope, nil)
			_, claims := e.verified(t, e.rp, raw, tok.AccessToken)
			info := e.userinfo(t, "GET", "Bearer "+tok.AccessToken, nil).body
			want := map[string]any{"sub": e.user.ID}
			for k, v := range tc.claims {
				want[k] = v
			}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("userinfo (-want +got):\n%s", diff)
			}
			for _, k := range []string{"email", "email_verified", "name"} {
				if got, want := claims[k], tc.claims[k]; got != want {
					t.Errorf("ID token %s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

// oidcc-prompt-login: with prompt=login a signed-in user signs in again
// (the sign-in page, pre-filled with the account), and the second ID
// token's auth_time is that sign-in's; the first session ends with it.
func TestOIDCPromptLogin(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	tok, raw := e.login(t, b, e.rp, "openid", nil)
	_, first := e.verified(t, e.rp, raw, tok.AccessToken)
	e.clock.Advance(3 * time.Second)

	u, verifier := e.authURL(e.rp, "openid", map[string]string{"prompt": "login"})
	p := b.get(t, u)
	if got := loginPage(t, p); got != e.user.Email {
		t.Errorf("the sign-in page's email is %q, want the signed-in account %q", got, e.user.Email)
	}
	if !strings.Contains(p.body, "sign in again") {
		t.Errorf("the sign-in page does not say why it is shown:\n%s", p.body)
	}
	q := redirected(t, b.signIn(t, p, e.user.Email, e.password))
	tok, raw = e.redeem(t, e.rp, q.Get("code"), verifier)
	_, second := e.verified(t, e.rp, raw, tok.AccessToken)
	if second["auth_time"].(float64) < first["auth_time"].(float64)+3 {
		t.Errorf("auth_time %v after signing in again, first %v: want the new sign-in's", second["auth_time"], first["auth_time"])
	}
	if n := e.sessions(t); n != 1 {
		t.Errorf("the user has %d live sessions after signing in again in one browser, want 1", n)
	}
}

// oidcc-prompt-none-not-logged-in: no page; login_required back to the
// client with state and iss.
func TestOIDCPromptNoneNotLoggedIn(t *testing.T) {
	e := startOIDC(t)
	u, _ := e.authURL(e.rp, "openid", map[string]string{"prompt": "none"})
	q := redirected(t, e.browser(t).get(t, u))
	if q.Get("error") != "login_required" || q.Get("state") != "st" || q.Get("iss") != teamURL("acme", "") || q.Has("code") {
		t.Errorf("authorization response %v, want login_required with state and iss", q)
	}
}

// oidcc-prompt-none-logged-in: a signed-in user who consented gets a code
// at once, without a page; one who did not, consent_required; prompt none
// with another value is invalid_request.
func TestOIDCPromptNoneLoggedIn(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	e.login(t, b, e.rp, "openid email", nil) // consents

	tok, raw := e.login(t, b, e.rp, "openid email", map[string]string{"prompt": "none"})
	if id, _ := e.verified(t, e.rp, raw, tok.AccessToken); id.Subject != e.user.ID {
		t.Errorf("sub %s", id.Subject)
	}
	for _, tc := range []struct {
		name, scope, prompt, want string
	}{
		{"more scopes than consented", "openid email profile", "none", "consent_required"},
		{"none and login", "openid", "none login", "invalid_request"},
		{"none and consent", "openid", "none consent", "invalid_request"},
	} {
		u, _ := e.authURL(e.rp, tc.scope, map[string]string{"prompt": tc.prompt})
		if q := redirected(t, b.get(t, u)); q.Get("error") != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, q, tc.want)
		}
	}
	// prompt=consent shows the page even for a remembered consent.
	u, _ := e.authURL(e.rp, "openid email", map[string]string{"prompt": "consent"})
	if p := b.get(t, u); p.status != http.StatusOK || !strings.Contains(p.body, `name="decision"`) {
		t.Errorf("prompt=consent: %d %s, want the consent page", p.status, p.url)
	}
}

// oidcc-max-age-1 and oidcc-max-age-10000: a sign-in older than max_age
// is repeated and the ID token says when (auth_time); a younger one serves.
func TestOIDCMaxAge(t *testing.T) {
	for _, tc := range []struct {
		module     string
		maxAge     string
		wantSignIn bool
	}{
		{"oidcc-max-age-1", "1", true},
		{"oidcc-max-age-10000", "10000", false},
		{"max_age 0 is prompt=login", "0", true},
	} {
		t.Run(tc.module, func(t *testing.T) {
			e := startOIDC(t)
			b := e.signedIn(t)
			tok, raw := e.login(t, b, e.rp, "openid", nil)
			_, first := e.verified(t, e.rp, raw, tok.AccessToken)
			e.clock.Advance(2 * time.Second) // the suite waits two seconds

			u, verifier := e.authURL(e.rp, "openid", map[string]string{"max_age": tc.maxAge})
			p := b.get(t, u)
			if tc.wantSignIn {
				loginPage(t, p)
				p = b.signIn(t, p, e.user.Email, e.password)
			}
			q := redirected(t, p)
			tok, raw = e.redeem(t, e.rp, q.Get("code"), verifier)
			_, second := e.verified(t, e.rp, raw, tok.AccessToken)
			authTime, ok := second["auth_time"].(float64)
			if !ok {
				t.Fatalf("no auth_time in the ID token of a request with max_age: %v", second)
			}
			if tc.wantSignIn != (authTime > first["auth_time"].(float64)) {
				t.Errorf("auth_time %v, first %v: a new sign-in %v, want %v", authTime, first["auth_time"], !tc.wantSignIn, tc.wantSignIn)
			}
			if age := float64(e.clock.Now().Unix()) - authTime; tc.wantSignIn && age > 1 {
				t.Errorf("auth_time is %vs old after signing in again", age)
			}
		})
	}
}

// oidcc-ensure-request-with-unknown-parameter-succeeds, oidcc-display-page,
// oidcc-display-popup, oidcc-ui-locales, oidcc-claims-locales,
// oidcc-ensure-request-with-acr-values-succeeds, oidcc-claims-essential:
// parameters Gatehouse does not act on are ignored, and the flow succeeds.
func TestOIDCIgnoredParameters(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	for _, tc := range []struct {
		module string
		extra  map[string]string
	}{
		{"oidcc-ensure-request-with-unknown-parameter-succeeds", map[string]string{"extra": "foobar"}},
		{"oidcc-display-page", map[string]string{"display": "page"}},
		{"oidcc-display-popup", map[string]string{"display": "popup"}},
		{"oidcc-ui-locales", map[string]string{"ui_locales": "se"}},
		{"oidcc-claims-locales", map[string]string{"claims_locales": "se"}},
		{"oidcc-ensure-request-with-acr-values-succeeds", map[string]string{"acr_values": "1 2"}},
		{"oidcc-claims-essential", map[string]string{"claims": `{"userinfo":{"name":{"essential":true}}}`}},
	} {
		t.Run(tc.module, func(t *testing.T) {
			tok, raw := e.login(t, b, e.rp, "openid", tc.extra)
			e.verified(t, e.rp, raw, tok.AccessToken)
		})
	}
}

// oidcc-id-token-hint: an ID token handed back as id_token_hint with
// prompt=none gets a code at once for the same user; an expired one still
// serves as a hint. One of another team, client or user does not.
func TestOIDCIDTokenHint(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	_, hint := e.login(t, b, e.rp, "openid", nil)

	tok, raw := e.login(t, b, e.rp, "openid", map[string]string{"prompt": "none", "id_token_hint": hint})
	if id, _ := e.verified(t, e.rp, raw, tok.AccessToken); id.Subject != e.user.ID {
		t.Errorf("sub %s, want the hint's %s", id.Subject, e.user.ID)
	}
	e.clock.Advance(2 * time.Hour) // the hint expired; the session lives (12 h)
	e.login(t, b, e.rp, "openid", map[string]string{"prompt": "none", "id_token_hint": hint})

	// A hint of another user of the team: that user must sign in.
	other := e.h.User(t, "acme", admin.NewUser{Email: "bob@example.com", Name: "Bob"})
	ob := e.browser(t)
	ob.signIn(t, ob.get(t, teamURL("acme", "/login")), other.Email, e.password)
	_, bobHint := e.login(t, ob, e.rp, "openid", nil)
	otherRP := e.relyingParty(t, "Other RP", client.AuthSecretBasic, "")
	for _, tc := range []struct {
		name, hint, prompt, want string
	}{
		{"another user's, prompt=none", bobHint, "none", "interaction_required"},
		{"another client's", hint, "none", "invalid_request"},
		{"not a token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "none", "invalid_request"},
		{"an access token", tok.AccessToken, "none", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.rp
			if tc.name == "another client's" {
				c = otherRP
			}
			u, _ := e.authURL(c, "openid", map[string]string{"prompt": tc.prompt, "id_token_hint": tc.hint})
			if q := redirected(t, b.get(t, u)); q.Get("error") != tc.want {
				t.Errorf("%v, want %s", q, tc.want)
			}
		})
	}
	// Without prompt=none, another user's hint asks the signed-in user to
	// sign in (as the hinted account).
	u, _ := e.authURL(e.rp, "openid", map[string]string{"id_token_hint": bobHint})
	loginPage(t, b.get(t, u))
}

// oidcc-login-hint: the sign-in page comes pre-filled with login_hint.
func TestOIDCLoginHint(t *testing.T) {
	e := startOIDC(t)
	b := e.browser(t)
	u, verifier := e.authURL(e.rp, "openid", map[string]string{"login_hint": e.user.Email})
	p := b.get(t, u)
	if got := loginPage(t, p); got != e.user.Email {
		t.Errorf("the sign-in page's email is %q, want the hint %q", got, e.user.Email)
	}
	q := b.approve(t, b.signIn(t, p, e.user.Email, e.password).url.String())
	tok, raw := e.redeem(t, e.rp, q.Get("code"), verifier)
	e.verified(t, e.rp, raw, tok.AccessToken)
}

// oidcc-codereuse and oidcc-codereuse-30seconds: a code redeemed a second
// time, at once or 30 seconds later, is invalid_grant, and the access
// token of its first redemption is revoked (RFC 6749 section 4.1.2): the
// userinfo endpoint refuses it.
func TestOIDCCodeReuse(t *testing.T) {
	for _, tc := range []struct {
		module string
		wait   time.Duration
	}{
		{"oidcc-codereuse", 0},
		{"oidcc-codereuse-30seconds", 30 * time.Second},
	} {
		t.Run(tc.module, func(t *testing.T) {
			e := startOIDC(t)
			q, verifier := e.authorize(t, e.signedIn(t), e.rp, "openid", map[string]string{"nonce": "once"})
			tok, _ := e.redeem(t, e.rp, q.Get("code"), verifier)
			if r := e.userinfo(t, "GET", "Bearer "+tok.AccessToken, nil); r.status != http.StatusOK {
				t.Fatalf("userinfo with the first token: %d", r.status)
			}
			e.clock.Advance(tc.wait)
			_, err := e.config(e.rp).Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("the code a second time: %v, want invalid_grant", err)
			}
			if r := e.userinfo(t, "GET", "Bearer "+tok.AccessToken, nil); r.status != http.StatusUnauthorized {
				t.Errorf("userinfo with the first token after the reuse: %d, want 401", r.status)
			}
		})
	}
}

// oidcc-ensure-registered-redirect-uri: a redirect URI that is not
// registered is told to the user on a page; nobody is redirected.
func TestOIDCUnregisteredRedirectURI(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	for _, to := range []string{"https://app.example/cb/evil", "https://evil.example/cb", appRedirect + "?x=1"} {
		u, _ := e.authURL(e.rp, "openid", nil)
		pu, _ := url.Parse(u)
		v := pu.Query()
		v.Set("redirect_uri", to)
		pu.RawQuery = v.Encode()
		p := b.get(t, pu.String())
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "redirect URI") {
			t.Errorf("redirect_uri %s: %d, Location %q", to, p.status, p.header.Get("Location"))
		}
	}
}

// oidcc-response-type-missing: without response_type the client gets
// invalid_request at its redirect URI.
func TestOIDCResponseTypeMissing(t *testing.T) {
	e := startOIDC(t)
	u, _ := e.authURL(e.rp, "openid", nil)
	pu, _ := url.Parse(u)
	v := pu.Query()
	v.Del("response_type")
	pu.RawQuery = v.Encode()
	if q := redirected(t, e.signedIn(t).get(t, pu.String())); q.Get("error") != "invalid_request" || q.Get("state") != "st" {
		t.Errorf("%v, want invalid_request with state", q)
	}
}

// oidcc-ensure-post-request-succeeds: the authorization request may come
// as a form POST, from the client's page (cross-site): it goes on as a GET
// (303), which carries the SameSite=Lax session cookie in a real browser.
func TestOIDCPostRequest(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	e.login(t, b, e.rp, "openid", nil) // consents
	u, verifier := e.authURL(e.rp, "openid", map[string]string{"nonce": "posted"})
	pu, _ := url.Parse(u)
	p := b.do(t, "POST", teamURL("acme", "/oauth2/authorize"), pu.Query(), map[string]string{"Sec-Fetch-Site": "cross-site"})
	if p.url.Path != "/oauth2/authorize" || p.url.Query().Get("nonce") != "posted" {
		t.Errorf("the POST went on to %s, want a GET of the same request", p.url)
	}
	q := redirected(t, p)
	tok, raw := e.redeem(t, e.rp, q.Get("code"), verifier)
	if id, _ := e.verified(t, e.rp, raw, tok.AccessToken); id.Nonce != "posted" {
		t.Errorf("nonce %q", id.Nonce)
	}
}

// oidcc-server-client-secret-post: the same flow with client_secret_post.
func TestOIDCClientSecretPost(t *testing.T) {
	e := startOIDC(t)
	c := e.relyingParty(t, "Post RP", client.AuthSecretPost, "")
	tok, raw := e.login(t, e.signedIn(t), c, "openid", map[string]string{"nonce": "p"})
	if id, _ := e.verified(t, c, raw, tok.AccessToken); id.Nonce != "p" || id.Audience[0] != c.ID {
		t.Errorf("ID token nonce %q aud %v", id.Nonce, id.Audience)
	}
}

// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported
// and oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported:
// request objects are rejected as unsupported, at the redirect URI.
func TestOIDCRequestObjects(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	object := b64url(`{"alg":"none"}`) + "." + b64url(`{"response_type":"code","client_id":"`+e.rp.ID+`"}`) + "."
	for _, tc := range []struct{ param, value, want string }{
		{"request", object, "request_not_supported"},
		{"request_uri", "https://app.example/request.jwt", "request_uri_not_supported"},
	} {
		u, _ := e.authURL(e.rp, "openid", map[string]string{tc.param: tc.value})
		if q := redirected(t, b.get(t, u)); q.Get("error") != tc.want || q.Get("state") != "st" {
			t.Errorf("%s: %v, want %s", tc.param, q, tc.want)
		}
	}
}

// oidcc-ensure-request-with-valid-pkce-succeeds: every request here uses
// PKCE S256; a verifier that does not match is refused.
func TestOIDCValidPKCE(t *testing.T) {
	e := startOIDC(t)
	q, verifier := e.authorize(t, e.signedIn(t), e.rp, "openid", nil)
	if _, err := e.config(e.rp).Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a code was redeemed with another verifier")
	}
	q, verifier = e.authorize(t, e.signedIn(t), e.rp, "openid", nil)
	tok, raw := e.redeem(t, e.rp, q.Get("code"), verifier)
	e.verified(t, e.rp, raw, tok.AccessToken)
}

// oidcc-refresh-token: a refresh gives a new ID token whose iss, sub, aud,
// azp and auth_time are the first one's, with a later iat, a new at_hash
// and no nonce (the code's went out once); the refresh token is bound to
// its client; narrowing the scope to leave out openid leaves the ID token
// out.
func TestOIDCRefreshToken(t *testing.T) {
	e := startOIDC(t)
	b := e.signedIn(t)
	tok, raw := e.login(t, b, e.rp, "openid email", map[string]string{"nonce": "first"})
	_, first := e.verified(t, e.rp, raw, tok.AccessToken)
	e.clock.Advance(5 * time.Second)

	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	next, err := e.config(e.rp).TokenSource(e.ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	raw2, _ := next.Extra("id_token").(string)
	if raw2 == "" {
		t.Fatal("the refresh answer has no id_token")
	}
	_, second := e.verified(t, e.rp, raw2, next.AccessToken)
	for _, k := range []string{"iss", "sub", "aud", "azp", "auth_time", "email"} {
		if first[k] != second[k] {
			t.Errorf("refreshed %s = %v, first %v", k, second[k], first[k])
		}
	}
	if second["iat"].(float64) < first["iat"].(float64)+5 {
		t.Errorf("refreshed iat %v, first %v: want the refresh's time", second["iat"], first["iat"])
	}
	if _, ok := second["nonce"]; ok {
		t.Errorf("the refreshed ID token has nonce %v", second["nonce"])
	}
	if info := e.userinfo(t, "GET", "Bearer "+next.AccessToken, nil); info.status != http.StatusOK || info.body["sub"] != e.user.ID {
		t.Errorf("userinfo with the refreshed token: %d %s", info.status, info.raw)
	}

	// Another client cannot use it.
	other := e.relyingParty(t, "Other RP", client.AuthSecretBasic, "")
	wantOAuthError(t, e.refresh(t, other, next.RefreshToken, ""), http.StatusBadRequest, "invalid_grant")
	// Narrowed to a scope without openid: no ID token.
	r := e.refresh(t, e.rp, next.RefreshToken, "email")
	if r.status != http.StatusOK || r.body["id_token"] != nil {
		t.Errorf("a refresh without openid: %d %s, want no id_token", r.status, r.raw)
	}
}

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): with a
// good id_token_hint the session ends at once and the browser goes back to
// the registered post_logout_redirect_uri with state; without one, the
// user confirms first; an unregistered redirect is refused on a page. The
// ended session is refused everywhere: prompt=none says login_required.
func TestOIDCLogout(t *testing.T) {
	e := startOIDC(t)
	logout := func(v url.Values) string { return teamURL("acme", "/oauth2/logout?"+v.Encode()) }

	t.Run("with id_token_hint", func(t *testing.T) {
		b := e.signedIn(t)
		_, hint := e.login(t, b, e.rp, "openid", nil)
		p := b.get(t, logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLogout}, "state": {"bye"}}))
		loc := p.location(t)
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != rpLogout || loc.Query().Get("state") != "bye" {
			t.Fatalf("after logout: %s, want %s with state", loc, rpLogout)
		}
		if n := e.sessions(t); n != 0 {
			t.Errorf("%d live sessions after logout", n)
		}
		u, _ := e.authURL(e.rp, "openid", map[string]string{"prompt": "none"})
		if q := redirected(t, b.get(t, u)); q.Get("error") != "login_required" {
			t.Errorf("prompt=none after logout: %v", q)
		}
		evs := e.auditEvents(t, "acme", "logout")
		if evs[0].Detail["client_id"] != e.rp.ID || evs[0].Detail["via"] != "oidc" {
			t.Errorf("audit event %+v", evs[0])
		}
	})

	t.Run("without hint: confirmation", func(t *testing.T) {
		b := e.signedIn(t)
		p := b.get(t, logout(url.Values{"client_id": {e.rp.ID}, "post_logout_redirect_uri": {rpLogout}, "state": {"s2"}}))
		if p.status != http.StatusOK || !strings.Contains(p.body, "Sign out of acme?") || !strings.Contains(p.body, "Relying Party") {
			t.Fatalf("want the confirmation page, got %d %s:\n%s", p.status, p.url, p.body)
		}
		if n := e.sessions(t); n != 1 {
			t.Fatalf("%d live sessions before the confirmation, want 1", n)
		}
		f := formFields(t, p, "/oauth2/logout")
		// Without the session's token the confirmation is refused.
		bad := url.Values{}
		for k, v := range f {
			bad[k] = v
		}
		bad.Set("csrf_token", "forged")
		if p := b.post(t, teamURL("acme", "/oauth2/logout"), bad); p.status != http.StatusForbidden || e.sessions(t) != 1 {
			t.Fatalf("a forged confirmation: %d, %d sessions", p.status, e.sessions(t))
		}
		p = b.post(t, teamURL("acme", "/oauth2/logout"), f)
		loc := p.location(t)
		if loc.Host != "app.example" || loc.Query().Get("state") != "s2" || e.sessions(t) != 0 {
			t.Errorf("after confirming: %s, %d sessions", loc, e.sessions(t))
		}
	})

	t.Run("bad hint: confirmation", func(t *testing.T) {
		b := e.signedIn(t)
		p := b.get(t, logout(url.Values{"id_token_hint": {"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}}))
		if p.status != http.StatusOK || !strings.Contains(p.body, "Sign out of acme?") || e.sessions(t) != 1 {
			t.Errorf("a bad hint: %d, %d sessions; want the confirmation page", p.status, e.sessions(t))
		}
		b.post(t, teamURL("acme", "/oauth2/logout"), formFields(t, p, "/oauth2/logout"))
		if e.sessions(t) != 0 {
			t.Errorf("%d sessions after confirming", e.sessions(t))
		}
	})

	t.Run("refused", func(t *testing.T) {
		b := e.signedIn(t)
		_, hint := e.login(t, b, e.rp, "openid", nil)
		other := e.relyingParty(t, "Another RP", client.AuthSecretBasic, "")
		for _, v := range []url.Values{
			{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}},
			{"id_token_hint": {hint}, "post_logout_redirect_uri": {appRedirect}},
			{"id_token_hint": {hint}, "client_id": {other.ID}},
			{"client_id": {"11111111-1111-4111-8111-111111111111"}},
		} {
			p := b.get(t, logout(v))
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Errorf("%v: %d, Location %q", v, p.status, p.header.Get("Location"))
			}
		}
		if e.sessions(t) != 1 {
			t.Errorf("refused logouts ended the session")
		}
	})

	t.Run("POST from the client's page", func(t *testing.T) {
		b := e.signedIn(t)
		_, hint := e.login(t, b, e.rp, "openid", nil)
		before := e.sessions(t) // the refused subtest's browser is still signed in
		p := b.do(t, "POST", teamURL("acme", "/oauth2/logout"), url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLogout}},
			map[string]string{"Sec-Fetch-Site": "cross-site"})
		if loc := p.location(t); loc.Host != "app.example" || e.sessions(t) != before-1 {
			t.Errorf("POST logout: %s, %d sessions of %d", loc, e.sessions(t), before)
		}
	})

	t.Run("not signed in", func(t *testing.T) {
		p := e.browser(t).get(t, logout(url.Values{"client_id": {e.rp.ID}, "post_logout_redirect_uri": {rpLogout}}))
		if loc := p.location(t); loc.Host != "app.example" {
			t.Errorf("without a session: %s", loc)
		}
		p = e.browser(t).get(t, logout(nil))
		if p.status != http.StatusOK || !strings.Contains(p.body, "signed out") {
			t.Errorf("without anything: %d %s", p.status, p.body)
		}
	})
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
