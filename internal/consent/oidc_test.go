package consent_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/store"
)

// OpenID Connect's parameters of an authorization request (Core 1.0
// section 3.1.2.1): read when good, refused at the redirect URI when not,
// ignored when unknown.
func TestParseRequestOpenID(t *testing.T) {
	web := &store.Client{ID: "c1", Name: "web", GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "email"}, RedirectURIs: []string{"https://app.example/cb"}}
	base := consent.Request{Client: *web, RedirectURI: "https://app.example/cb", State: "s", Scopes: []string{"openid"}, CodeChallenge: rfcChallenge}
	with := func(kv ...string) url.Values {
		v := url.Values{"response_type": {"code"}, "client_id": {"c1"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"openid"}, "state": {"s"},
			"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	req := func(f func(*consent.Request)) consent.Request { r := base; f(&r); return r }
	// redirect_uri is required of an OpenID Connect request, even when
	// the client registered only one.
	missing := with()
	missing.Del("redirect_uri")
	if _, err := consent.ParseRequest(web, missing); !errors.As(err, new(*consent.PageError)) {
		t.Errorf("openid request without redirect_uri: %v, want a page error", err)
	}
	for _, tc := range []struct {
		name string
		p    url.Values
		code string // a redirect error's; "" for success
		want consent.Request
	}{
		{"nonce", with("nonce", "n-0S6_WzA2Mj"), "", req(func(r *consent.Request) { r.Nonce = "n-0S6_WzA2Mj" })},
		{"nonce with spaces and non-ASCII", with("nonce", "a b ü"), "", req(func(r *consent.Request) { r.Nonce = "a b ü" })},
		{"no nonce: fine for the code flow", with(), "", base},
		{"prompt none", with("prompt", "none"), "", req(func(r *consent.Request) { r.Prompt.None = true })},
		{"prompt login consent", with("prompt", "consent  login"), "", req(func(r *consent.Request) { r.Prompt = consent.Prompt{Login: true, Consent: true} })},
		{"prompt select_account is login", with("prompt", "select_account"), "", req(func(r *consent.Request) { r.Prompt.Login = true })},
		{"max_age", with("max_age", "10000"), "", req(func(r *consent.Request) { r.MaxAge, r.HasMaxAge = 10000*time.Second, true })},
		{"max_age 0", with("max_age", "0"), "", req(func(r *consent.Request) { r.HasMaxAge = true })},
		{"login_hint", with("login_hint", "ann@example.com"), "", req(func(r *consent.Request) { r.LoginHint = "ann@example.com" })},
		{"login_hint too long is dropped", with("login_hint", strings.Repeat("a", 321)), "", base},
		{"login_hint with a control character is dropped", with("login_hint", "a\nb"), "", base},
		{"id_token_hint", with("id_token_hint", "eyJ.x.y"), "", req(func(r *consent.Request) { r.IDTokenHint = "eyJ.x.y" })},
		{"response_mode query", with("response_mode", "query"), "", base},
		{"unknown parameters are ignored", with("display", "popup", "ui_locales", "fr", "claims", "{}", "acr_values", "x", "extra", "y"), "", base},

		{"prompt none and login", with("prompt", "none login"), "invalid_request", consent.Request{}},
		{"unknown prompt", with("prompt", "create"), "invalid_request", consent.Request{}},
		{"negative max_age", with("max_age", "-1"), "invalid_request", consent.Request{}},
		{"max_age not a number", with("max_age", "1h"), "invalid_request", consent.Request{}},
		{"huge max_age", with("max_age", "99999999999"), "invalid_request", consent.Request{}},
		{"nonce too long", with("nonce", strings.Repeat("n", 513)), "invalid_request", consent.Request{}},
		{"nonce with NUL", with("nonce", "a\x00b"), "invalid_request", consent.Request{}},
		{"nonce not UTF-8", with("nonce", "a\xffb"), "invalid_request", consent.Request{}},
		{"id_token_hint too long", with("id_token_hint", strings.Repeat("a", 8<<10+1)), "invalid_request", consent.Request{}},
		{"response_mode fragment", with("response_mode", "fragment"), "invalid_request", consent.Request{}},
		{"response_mode form_post", with("response_mode", "form_post"), "invalid_request", consent.Request{}},
		{"registration", with("registration", "{}"), "registration_not_supported", consent.Request{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := consent.ParseRequest(web, tc.p)
			if tc.code != "" {
				var re *consent.RedirectError
				if !errors.As(err, &re) || re.Code != tc.code {
					t.Fatalf("error %v, want a redirect with %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			// What the consent form sends back is the same request.
			again, err := consent.ParseRequest(web, got.Params())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip through Params (-first +again):\n%s", diff)
			}
		})
	}
}

// After a sign-in the request comes back without what asked for it:
// prompt=login, max_age and the hints; prompt=consent and the nonce stay.
func TestAfterSignIn(t *testing.T) {
	r := consent.Request{Nonce: "n", Prompt: consent.Prompt{Login: true, Consent: true}, MaxAge: time.Second, HasMaxAge: true,
		LoginHint: "ann@example.com", IDTokenHint: "eyJ.x.y", State: "s"}
	want := consent.Request{Nonce: "n", Prompt: consent.Prompt{Consent: true}, State: "s"}
	if diff := cmp.Diff(want, r.AfterSignIn()); diff != "" {
		t.Errorf("AfterSignIn (-want +got):\n%s", diff)
	}
}

// A code keeps its request's nonce and the user's sign-in time; its
// refresh-token family keeps the sign-in time through every rotation; the
// nonce reaches the client once, since the code is spent once.
func TestCodeKeepsNonceAndAuthTime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Approve(ctx, ann, "acme", e.user.ID, e.client.ID, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	req := e.request("a")
	req.Nonce = "n-0S6_WzA2Mj"
	code, err := e.svc.IssueCode(ctx, "acme", e.user.ID, authTime, req)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := e.svc.Redeem(ctx, "acme", e.client, code.Reveal(), "https://app.example/cb", rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Nonce != "n-0S6_WzA2Mj" || !ac.AuthTime.Equal(authTime) {
		t.Errorf("redeemed code: nonce %q auth_time %v; want the request's nonce and %v", ac.Nonce, ac.AuthTime, authTime)
	}
	if _, err := e.svc.Redeem(ctx, "acme", e.client, code.Reveal(), "https://app.example/cb", rfcVerifier); !errors.Is(err, consent.ErrReplay) {
		t.Errorf("the code (and its nonce) a second time: %v, want a replay", err)
	}

	_, _, rt := e.redeem(t, "a") // issued with authTime
	for range 2 {
		tok, _, err := e.svc.CheckRefresh(ctx, "acme", e.client, rt)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.AuthTime.Equal(authTime) {
			t.Errorf("refresh token auth_time %v, want %v", tok.AuthTime, authTime)
		}
		next, err := e.svc.Rotate(ctx, "acme", tok)
		if err != nil {
			t.Fatal(err)
		}
		rt = next.Reveal()
	}
}
