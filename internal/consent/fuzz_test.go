package consent_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// fuzzClient is the client an authorization request names.
var fuzzClient = store.Client{Team: "acme", ID: "11111111-1111-4111-8111-111111111111", Name: "app",
	GrantTypes:   []string{client.GrantAuthorizationCode},
	Scopes:       []string{"audit.log:read", "team.user-group-info:read"},
	RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1:8080/cb?x=1"}}

// An authorization request (the query of GET /oauth2/authorize, or the
// consent form's POST). Until client and redirect URI are known good the
// error is for the page, never a redirect; after, a redirect error goes
// only to a registered redirect URI. An accepted request names a
// registered redirect URI, a well-formed S256 challenge and scopes the
// client holds, each once, and reads back unchanged from the parameters
// the consent form sends (Request.Params).
func FuzzParseRequest(f *testing.F) {
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	good := url.Values{"response_type": {"code"}, "client_id": {fuzzClient.ID}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"audit.log:read"}, "state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	f.Add(good.Encode())
	for _, mutate := range []func(url.Values){
		func(v url.Values) { v.Del("redirect_uri") },
		func(v url.Values) { v.Set("redirect_uri", "https://app.example/cb/") },
		func(v url.Values) { v.Add("redirect_uri", "https://evil.example/cb") },
		func(v url.Values) { v.Add("scope", "x") },
		func(v url.Values) { v.Set("scope", "  audit.log:read   audit.log:read ") },
		func(v url.Values) { v.Set("scope", "") },
		func(v url.Values) { v.Del("scope") },
		func(v url.Values) { v.Set("code_challenge_method", "plain") },
		func(v url.Values) { v.Set("code_challenge", challenge+"=") },
		func(v url.Values) { v.Set("response_type", "token") },
		func(v url.Values) { v.Set("request_uri", "https://evil.example/r") },
		func(v url.Values) { v.Set("client_id", "") },
		// OpenID Connect's parameters.
		func(v url.Values) {
			v.Set("nonce", "n-0S6_WzA2Mj")
			v.Set("prompt", "login consent")
			v.Set("max_age", "0")
		},
		func(v url.Values) { v.Set("prompt", "none consent") },
		func(v url.Values) { v.Set("prompt", "select_account"); v.Set("login_hint", "ann@example.com") },
		func(v url.Values) { v.Set("max_age", "-1") },
		func(v url.Values) {
			v.Set("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
			v.Set("response_mode", "query")
		},
		func(v url.Values) { v.Set("nonce", "a\x00b") },
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = slices.Clone(vs)
		}
		mutate(v)
		f.Add(v.Encode())
	}
	f.Fuzz(func(t *testing.T, query string) {
		p, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		var c *store.Client
		if p.Get("client_id") == fuzzClient.ID {
			cl := fuzzClient
			c = &cl
		}
		req, err := consent.ParseRequest(c, p)
		var pageErr *consent.PageError
		var redirectErr *consent.RedirectError
		switch {
		case errors.As(err, &pageErr):
			return
		case errors.As(err, &redirectErr):
			if c == nil || !slices.Contains(c.RedirectURIs, req.RedirectURI) {
				t.Fatalf("%q: a redirect error to %q", query, req.RedirectURI)
			}
			if raw, sent := p["redirect_uri"]; sent && raw[0] != req.RedirectURI {
				t.Errorf("%q: a redirect error to %q, not the redirect URI sent", query, req.RedirectURI)
			}
			return
		case err != nil:
			t.Fatalf("%q: error %v of neither kind", query, err)
		}
		if c == nil || !slices.Contains(c.RedirectURIs, req.RedirectURI) {
			t.Fatalf("%q accepted with redirect URI %q", query, req.RedirectURI)
		}
		if len(req.CodeChallenge) != 43 || p.Get("code_challenge_method") != "S256" || p.Get("response_type") != "code" {
			t.Errorf("%q accepted with challenge %q", query, req.CodeChallenge)
		}
		if len(req.Scopes) == 0 {
			t.Errorf("%q accepted with no scopes", query)
		}
		for i, s := range req.Scopes {
			if !slices.Contains(c.Scopes, s) || !scope.IsToken(s) || slices.Contains(req.Scopes[:i], s) {
				t.Errorf("%q accepted with scopes %q", query, req.Scopes)
			}
		}
		again, err := consent.ParseRequest(c, req.Params())
		if err != nil {
			t.Fatalf("%q: its Params %v are refused: %v", query, req.Params(), err)
		}
		if d := cmp.Diff(req, again, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%q: round trip through Params (-first +again):\n%s", query, d)
		}
	})
}

var verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// A PKCE code_verifier (RFC 7636 section 4.1) and its S256 challenge.
func FuzzVerifier(f *testing.F) {
	for _, s := range []string{strings.Repeat("a", 43), strings.Repeat("a", 42), strings.Repeat("~", 128),
		strings.Repeat("a", 129), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", strings.Repeat("é", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := consent.ValidVerifier(v), verifierRE.MatchString(v); got != want {
			t.Errorf("ValidVerifier(%q) = %v, want %v", v, got, want)
		}
		sum := sha256.Sum256([]byte(v))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		if !consent.VerifyS256(v, challenge) {
			t.Errorf("VerifyS256(%q, its own challenge) = false", v)
		}
		if consent.VerifyS256(v, challenge[:42]+"A") && challenge[42] != 'A' || consent.VerifyS256(v, "") {
			t.Errorf("VerifyS256(%q) accepts another challenge", v)
		}
	})
}
