package webui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oidcAuthorizeURL is an OpenID Connect authorization request of the
// fixture's client with the extra parameters.
func oidcAuthorizeURL(extra url.Values) string {
	v := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return "/oauth2/authorize?" + v.Encode()
}

// hint makes an ID token the fixture's key set verifies, about sub for
// client aud.
func (f *fixture) hint(sub, aud string) string {
	raw := "eyJhbGciOiJSUzI1NiJ9." + sub + "." + aud
	f.idTokens[raw], _ = json.Marshal(map[string]any{"iss": "http://acme.gatehouse.test", "sub": sub, "aud": aud})
	return raw
}

// OpenID Connect's demands on the sign-in at /oauth2/authorize: where the
// browser goes (the client's redirect URI with an error or a code, the
// sign-in page asking again, the consent page).
func TestAuthorizeOpenID(t *testing.T) {
	type want struct {
		status   int
		location string // prefix; "" for a page
		query    url.Values
	}
	for _, tc := range []struct {
		name       string
		signedIn   bool
		age        time.Duration // of the session
		remembered bool
		extra      func(f *fixture) url.Values
		want       want
	}{
		{"prompt=none, not signed in", false, 0, false, func(*fixture) url.Values { return url.Values{"prompt": {"none"}} },
			want{302, redirectURI, url.Values{"error": {"login_required"}, "state": {"st"}}}},
		{"prompt=none, no consent", true, 0, false, func(*fixture) url.Values { return url.Values{"prompt": {"none"}} },
			want{302, redirectURI, url.Values{"error": {"consent_required"}}}},
		{"prompt=none, consented", true, 0, true, func(*fixture) url.Values { return url.Values{"prompt": {"none"}} },
			want{302, redirectURI, url.Values{"code": {"the-code"}}}},
		{"prompt=none, too old for max_age", true, time.Hour, true, func(*fixture) url.Values {
			return url.Values{"prompt": {"none"}, "max_age": {"60"}}
		}, want{302, redirectURI, url.Values{"error": {"login_required"}}}},
		{"prompt=none, another user's hint", true, 0, true, func(f *fixture) url.Values {
			return url.Values{"prompt": {"none"}, "id_token_hint": {f.hint("someone-else", appID)}}
		}, want{302, redirectURI, url.Values{"error": {"interaction_required"}}}},
		{"prompt=none, the user's hint", true, 0, true, func(f *fixture) url.Values {
			return url.Values{"prompt": {"none"}, "id_token_hint": {f.hint(adaID, appID)}}
		}, want{302, redirectURI, url.Values{"code": {"the-code"}}}},
		{"a hint of another client", true, 0, true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, "another-client")}}
		}, want{302, redirectURI, url.Values{"error": {"invalid_request"}}}},
		{"a hint that does not verify", true, 0, true, func(*fixture) url.Values { return url.Values{"id_token_hint": {"eyJ.x.y"}} },
			want{302, redirectURI, url.Values{"error": {"invalid_request"}}}},
		{"prompt=login", true, 0, true, func(*fixture) url.Values { return url.Values{"prompt": {"login"}, "login_hint": {"ada@example.com"}} },
			want{302, "/login?", url.Values{"reauth": {"1"}, "login_hint": {"ada@example.com"}}}},
		{"max_age passed", true, 2 * time.Minute, true, func(*fixture) url.Values { return url.Values{"max_age": {"60"}} },
			want{302, "/login?", url.Values{"reauth": {"1"}}}},
		{"max_age not passed", true, 30 * time.Second, true, func(*fixture) url.Values { return url.Values{"max_age": {"60"}} },
			want{302, redirectURI, url.Values{"code": {"the-code"}}}},
		{"not signed in, login_hint", false, 0, false, func(*fixture) url.Values { return url.Values{"login_hint": {"ada@example.com"}} },
			want{302, "/login?", url.Values{"login_hint": {"ada@example.com"}}}},
		{"prompt=consent, consented", true, 0, true, func(*fixture) url.Values { return url.Values{"prompt": {"consent"}} },
			want{200, "", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.consents.remembered = tc.remembered
			r := httptest.NewRequest("GET", oidcAuthorizeURL(tc.extra(f)), nil)
			if tc.signedIn {
				r.AddCookie(f.signIn(t))
				f.now = f.now.Add(tc.age)
			}
			rec := serve(f.ui.ServeAuthorize, r)
			if rec.Code != tc.want.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want.status, rec.Body)
			}
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, tc.want.location) {
				t.Fatalf("Location %q, want %q...", loc, tc.want.location)
			}
			if loc == "" {
				return
			}
			u, _ := url.Parse(loc)
			for k, v := range tc.want.query {
				if got := u.Query()[k]; strings.Join(got, " ") != strings.Join(v, " ") {
					t.Errorf("%s = %q, want %q (Location %s)", k, got, v, loc)
				}
			}
			if rt := u.Query().Get("return_to"); rt != "" {
				// The way back asks for nothing the sign-in answers.
				back, _ := url.Parse(rt)
				for _, k := range []string{"max_age", "id_token_hint", "login_hint"} {
					if back.Query().Has(k) {
						t.Errorf("return_to %s keeps %s", rt, k)
					}
				}
				if strings.Contains(back.Query().Get("prompt"), "login") {
					t.Errorf("return_to %s keeps prompt=login", rt)
				}
			}
		})
	}
}

// The sign-in page pre-fills login_hint and, with reauth, asks a signed-in
// user again instead of going on.
func TestLoginPageHints(t *testing.T) {
	f := newFixture(t)
	rec := serve(f.ui.ServeLoginPage, httptest.NewRequest("GET", "/login?login_hint=ada%40example.com", nil))
	if !strings.Contains(rec.Body.String(), `value="ada@example.com"`) {
		t.Errorf("the sign-in page does not show the hint:\n%s", rec.Body)
	}
	ck := f.signIn(t)
	r := httptest.NewRequest("GET", "/login?return_to=%2Fprofile", nil)
	r.AddCookie(ck)
	if rec := serve(f.ui.ServeLoginPage, r); rec.Code != http.StatusFound {
		t.Errorf("signed in, without reauth: %d, want a redirect", rec.Code)
	}
	r = httptest.NewRequest("GET", "/login?return_to=%2Fprofile&reauth=1", nil)
	r.AddCookie(ck)
	rec = serve(f.ui.ServeLoginPage, r)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "sign in again") || !strings.Contains(rec.Body.String(), `value="ada@example.com"`) {
		t.Errorf("reauth: %d\n%s", rec.Code, rec.Body)
	}
	// A hint that cannot be shown is not.
	rec = serve(f.ui.ServeLoginPage, httptest.NewRequest("GET", "/login?login_hint=a%0Ab", nil))
	if strings.Contains(rec.Body.String(), "a\nb") {
		t.Error("a hint with a newline was shown")
	}
}

// Signing in again in a browser ends the session it had.
func TestSignInAgainEndsTheOldSession(t *testing.T) {
	f := newFixture(t)
	old := f.signIn(t)
	tok, ck := f.loginForm(t)
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {tok}, "email": {"ada@example.com"}, "password": {adaPassword}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(ck)
	r.AddCookie(old)
	if rec := serve(f.ui.ServeLogin, r); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	if n := len(f.sessions.byID); n != 1 {
		t.Errorf("%d sessions after signing in again in one browser, want 1", n)
	}
}

// RP-initiated logout: each request's answer.
func TestEndSession(t *testing.T) {
	for _, tc := range []struct {
		name     string
		signedIn bool
		query    func(f *fixture) url.Values
		status   int
		location string // prefix; "" for a page
		ended    bool
	}{
		{"the user's hint and a registered URI", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, appID)}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"s"}}
		}, 302, postLogoutURI + "?state=s", true},
		{"the user's hint, no URI", true, func(f *fixture) url.Values { return url.Values{"id_token_hint": {f.hint(adaID, appID)}} },
			200, "", true},
		{"the user's hint, a URI, no state", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, appID)}, "post_logout_redirect_uri": {postLogoutURI}}
		}, 302, postLogoutURI, true},
		{"no parameters: confirmation", true, func(*fixture) url.Values { return url.Values{} }, 200, "", false},
		{"only state: confirmation", true, func(*fixture) url.Values { return url.Values{"state": {"s"}} }, 200, "", false},
		{"a query added to the registered URI", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, appID)}, "post_logout_redirect_uri": {postLogoutURI + "?foo=bar"}}
		}, 400, "", false},
		{"no hint: confirmation", true, func(*fixture) url.Values {
			return url.Values{"client_id": {appID}, "post_logout_redirect_uri": {postLogoutURI}}
		}, 200, "", false},
		{"another user's hint: confirmation", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint("someone-else", appID)}}
		}, 200, "", false},
		{"a hint that does not verify: confirmation", true, func(*fixture) url.Values { return url.Values{"id_token_hint": {"eyJ.x.y"}} },
			200, "", false},
		{"an unregistered URI", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, appID)}, "post_logout_redirect_uri": {"https://evil.example/"}}
		}, 400, "", false},
		{"client_id of another client than the hint's", true, func(f *fixture) url.Values {
			return url.Values{"id_token_hint": {f.hint(adaID, appID)}, "client_id": {"another"}}
		}, 400, "", false},
		{"an unknown client", true, func(*fixture) url.Values { return url.Values{"client_id": {"nosuch"}} }, 400, "", false},
		{"a repeated parameter", true, func(*fixture) url.Values { return url.Values{"state": {"a", "b"}} }, 400, "", false},
		{"a URI without a client is dropped", true, func(*fixture) url.Values {
			return url.Values{"post_logout_redirect_uri": {postLogoutURI}}
		}, 200, "", false},
		{"not signed in", false, func(*fixture) url.Values {
			return url.Values{"client_id": {appID}, "post_logout_redirect_uri": {postLogoutURI}}
		}, 302, postLogoutURI, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r := httptest.NewRequest("GET", "/oauth2/logout?"+tc.query(f).Encode(), nil)
			if tc.signedIn {
				r.AddCookie(f.signIn(t))
			}
			rec := serve(f.ui.ServeEndSession, r)
			if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Location"), tc.location) {
				t.Fatalf("%d Location %q, want %d %q:\n%s", rec.Code, rec.Header().Get("Location"), tc.status, tc.location, rec.Body)
			}
			if ended := tc.signedIn && len(f.sessions.byID) == 0; ended != tc.ended {
				t.Errorf("session ended: %v, want %v", ended, tc.ended)
			}
			if tc.status == 200 && !tc.ended && tc.signedIn && !strings.Contains(rec.Body.String(), "Sign out of acme?") {
				t.Errorf("want the confirmation page:\n%s", rec.Body)
			}
		})
	}
}

// FuzzEndSession: whatever the query, a logout request is answered with a
// page or a redirect to a post-logout URI the client registered, never a
// 5xx, and it ends a session only for the user's own hint.
func FuzzEndSession(f *testing.F) {
	for _, q := range []string{
		"", "id_token_hint=ada&post_logout_redirect_uri=" + url.QueryEscape(postLogoutURI) + "&state=s",
		"client_id=" + appID + "&post_logout_redirect_uri=" + url.QueryEscape(postLogoutURI),
		"post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", "state=a&state=b", "client_id=%00",
	} {
		f.Add(q, true)
	}
	f.Fuzz(func(t *testing.T, query string, signedIn bool) {
		fx := newFixture(t)
		good := fx.hint(adaID, appID)
		query = strings.ReplaceAll(query, "id_token_hint=ada", "id_token_hint="+url.QueryEscape(good))
		r := httptest.NewRequest("GET", "/oauth2/logout", nil)
		r.URL.RawQuery = query
		if signedIn {
			r.AddCookie(fx.signIn(t))
		}
		rec := serve(fx.ui.ServeEndSession, r)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest:
		case http.StatusFound:
			if loc := rec.Header().Get("Location"); loc != postLogoutURI && !strings.HasPrefix(loc, postLogoutURI+"?state=") {
				t.Fatalf("redirected to %q", loc)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
		q, _ := url.ParseQuery(query)
		if signedIn && len(fx.sessions.byID) == 0 && q.Get("id_token_hint") != good {
			t.Fatalf("%q ended the session without the user's hint", query)
		}
	})
}

// An authorization request sent as a form POST, from anywhere, goes on as
// a GET of the same request (303); the consent form's POST does not.
func TestAuthorizeRequestAsPost(t *testing.T) {
	f := newFixture(t)
	u, _ := url.Parse(oidcAuthorizeURL(url.Values{"nonce": {"n"}, "prompt": {"none"}}))
	r := httptest.NewRequest("POST", "/oauth2/authorize", strings.NewReader(u.RawQuery))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := serve(f.ui.ServeAuthorize, r)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || loc.Path != "/oauth2/authorize" || loc.Query().Get("nonce") != "n" || loc.Query().Get("prompt") != "none" {
		t.Errorf("%d %s, want 303 to the same request as a GET", rec.Code, loc)
	}
}
