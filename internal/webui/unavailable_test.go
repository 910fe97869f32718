package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// errDown is what the services return while the database cannot answer.
var errDown = fmt.Errorf("read: %w", store.ErrUnavailable)

// downClients fails every lookup.
type downClients struct{}

func (downClients) Client(context.Context, string, string) (store.Client, error) {
	return store.Client{}, errDown
}

// While the database cannot answer, every page answers 503 with
// Retry-After, the JSON API 503 temporarily_unavailable with Retry-After,
// and the authorization endpoint, once the client and its redirect URI are
// known good, sends the user agent back with error=temporarily_unavailable
// (RFC 6749 section 4.1.2.1). Never a 500.
func TestUnavailable(t *testing.T) {
	type answer int
	const (
		page     answer = iota // a 503 page
		jsonErr                // a 503 JSON error
		redirect               // back to the client with an error
	)
	for _, tc := range []struct {
		name     string
		breaks   func(f *fixture) // after Ada signed in
		request  func(f *fixture, p prep) (http.HandlerFunc, *http.Request)
		answer   answer
		errParam string // of a redirect
	}{
		{"sign-in page: session read", func(f *fixture) { f.users.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeLoginPage, withCookie(httptest.NewRequest("GET", "/login", nil), p.sess)
			}, page, ""},
		{"sign in: user read", func(f *fixture) { f.users.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {p.loginToken}, "email": {"ada@example.com"}, "password": {adaPassword}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeLogin, withCookie(r, p.loginCookie)
			}, page, ""},
		{"profile: session read", func(f *fixture) { f.users.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), p.sess)
			}, page, ""},
		{"profile: consents", func(f *fixture) { f.consents.fail = map[string]error{"List": errDown} },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), p.sess)
			}, page, ""},
		{"profile: revoke a consent", func(f *fixture) { f.consents.fail = map[string]error{"Revoke": errDown} },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				r := httptest.NewRequest("POST", "/profile/consents/"+appID+"/revoke", strings.NewReader(url.Values{"csrf_token": {p.csrf}}.Encode()))
				r.SetPathValue("client_id", appID)
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeRevokeConsent, withCookie(r, p.sess)
			}, page, ""},
		{"profile: session lookup", func(f *fixture) { f.sessions.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), p.sess)
			}, page, ""},
		{"profile: sessions list", func(f *fixture) { f.sessions.failList = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), p.sess)
			}, page, ""},
		{"sign in: session start", func(f *fixture) { f.sessions.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {p.loginToken}, "email": {"ada@example.com"}, "password": {adaPassword}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeLogin, withCookie(r, p.loginCookie)
			}, page, ""},
		{"sign-out: session end", func(f *fixture) { f.sessions.failEnd = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				r := httptest.NewRequest("POST", "/logout", strings.NewReader(url.Values{"csrf_token": {p.csrf}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeLogout, withCookie(r, p.sess)
			}, page, ""},
		{"sign out everywhere: sessions end", func(f *fixture) { f.sessions.failEnd = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				r := httptest.NewRequest("POST", "/profile/sessions/revoke", strings.NewReader(url.Values{"csrf_token": {p.csrf}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeLogoutEverywhere, withCookie(r, p.sess)
			}, page, ""},
		{"authorize: client read, no redirect yet", func(f *fixture) { f.ui.o.Clients = downClients{} },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeAuthorize, withCookie(httptest.NewRequest("GET", authorizeURL(nil), nil), p.sess)
			}, page, ""},
		{"authorize: session read", func(f *fixture) { f.users.fail = errDown },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeAuthorize, withCookie(httptest.NewRequest("GET", authorizeURL(nil), nil), p.sess)
			}, redirect, "temporarily_unavailable"},
		{"authorize: consent read", func(f *fixture) { f.consents.fail = map[string]error{"Remembered": errDown} },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				return f.ui.ServeAuthorize, withCookie(httptest.NewRequest("GET", authorizeURL(nil), nil), p.sess)
			}, redirect, "temporarily_unavailable"},
		{"authorize: code issued", func(f *fixture) {
			f.consents.remembered = true
			f.consents.fail = map[string]error{"IssueCode": errDown}
		}, func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
			return f.ui.ServeAuthorize, withCookie(httptest.NewRequest("GET", authorizeURL(nil), nil), p.sess)
		}, redirect, "temporarily_unavailable"},
		{"authorize: consent approved", func(f *fixture) { f.consents.fail = map[string]error{"Approve": errDown} },
			func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
				u, _ := url.Parse(authorizeURL(nil))
				form := u.Query()
				form.Set("decision", "approve")
				form.Set("csrf_token", p.csrf)
				r := httptest.NewRequest("POST", "/oauth2/authorize", strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				return f.ui.ServeAuthorize, withCookie(r, p.sess)
			}, redirect, "temporarily_unavailable"},
		{"authorize: another failure", func(f *fixture) {
			f.consents.remembered = true
			f.consents.fail = map[string]error{"IssueCode": errors.New("disk on fire")}
		}, func(f *fixture, p prep) (http.HandlerFunc, *http.Request) {
			return f.ui.ServeAuthorize, withCookie(httptest.NewRequest("GET", authorizeURL(nil), nil), p.sess)
		}, redirect, "server_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var p prep
			p.sess = f.signIn(t)
			p.loginToken, p.loginCookie = f.loginForm(t)
			_, csrf, err := f.ui.APISession(onTeam(withCookie(httptest.NewRequest("GET", "/api/profile/consents", nil), p.sess)))
			if err != nil || csrf == "" {
				t.Fatalf("no CSRF token: %v", err)
			}
			p.csrf = csrf
			tc.breaks(f)
			h, r := tc.request(f, p)
			rec := serve(h, r)
			switch tc.answer {
			case page:
				if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
					t.Fatalf("status %d, Retry-After %q, Content-Type %q; want a 503 page with Retry-After",
						rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
				}
				// Nobody is signed in, nor told they signed out.
				for _, c := range rec.Result().Cookies() {
					if c.Name == f.ui.sessionCk {
						t.Errorf("the 503 page sets the session cookie: %q", c.Raw)
					}
				}
			case jsonErr:
				var body struct{ Error string }
				json.Unmarshal(rec.Body.Bytes(), &body)
				if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || body.Error != "temporarily_unavailable" {
					t.Fatalf("status %d, Retry-After %q, body %s; want 503 temporarily_unavailable with Retry-After",
						rec.Code, rec.Header().Get("Retry-After"), rec.Body)
				}
			case redirect:
				loc, _ := url.Parse(rec.Header().Get("Location"))
				if rec.Code/100 != 3 || !strings.HasPrefix(loc.String(), redirectURI) || loc.Query().Get("error") != tc.errParam ||
					loc.Query().Get("state") != "xyz" {
					t.Fatalf("status %d, Location %q; want back to the client with error=%s", rec.Code, loc, tc.errParam)
				}
			}
		})
	}
}

// prep is what the requests carry: Ada's session and its CSRF token, and
// a sign-in form's token and cookie.
type prep struct {
	sess, loginCookie *http.Cookie
	csrf, loginToken  string
}

func withCookie(r *http.Request, ck *http.Cookie) *http.Request {
	if ck != nil {
		r.AddCookie(ck)
	}
	return r
}
