package webui

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The handlers' own tests: the UI over fakes of the narrow interfaces it
// depends on, driven through httptest. Whole flows against a real server
// are in internal/server.

const (
	team        = "acme"
	adaID       = "0b8e3a51-6f86-4f3c-9b8f-0f1a2b3c4d5e"
	adaPassword = "correct horse battery staple"
	appID       = "5f0f6a8e-1d2c-4b3a-9e8f-7a6b5c4d3e2f"
	redirectURI = "https://app.example.com/callback"
	// postLogoutURI is where RP-initiated logout may send Ada back.
	postLogoutURI = "https://app.example.com/signed-out"
)

type fakeUsers struct {
	mu     sync.Mutex
	users  map[string]store.User // by email
	logins []store.LoginEvent
	fail   error
}

func (f *fakeUsers) User(_ context.Context, tm, id string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return store.User{}, f.fail
	}
	for _, u := range f.users {
		if u.Team == tm && u.ID == id {
			return u, nil
		}
	}
	return store.User{}, store.ErrNotFound
}

func (f *fakeUsers) UserByEmail(_ context.Context, tm, email string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return store.User{}, f.fail
	}
	if u, ok := f.users[email]; ok && u.Team == tm {
		return u, nil
	}
	return store.User{}, store.ErrNotFound
}

func (f *fakeUsers) AppendLogin(_ context.Context, e store.LoginEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, e)
	return nil
}

type fakeClients map[string]store.Client

func (f fakeClients) Client(_ context.Context, tm, id string) (store.Client, error) {
	if c, ok := f[id]; ok && c.Team == tm {
		return c, nil
	}
	return store.Client{}, store.ErrNotFound
}

type fakeConsents struct {
	fail       map[string]error // by method
	remembered bool
	approved   [][]string
	revoked    []string
	codes      []consent.Request
	list       []store.Consent
}

func (f *fakeConsents) Remembered(context.Context, string, string, string, []string) (bool, error) {
	return f.remembered, f.fail["Remembered"]
}

func (f *fakeConsents) Approve(_ context.Context, _ kernel.Actor, _, _, _ string, scopes []string) error {
	if err := f.fail["Approve"]; err != nil {
		return err
	}
	f.approved = append(f.approved, scopes)
	return nil
}

func (f *fakeConsents) IssueCode(_ context.Context, _, _ string, _ time.Time, req consent.Request) (secret.Secret, error) {
	if err := f.fail["IssueCode"]; err != nil {
		return "", err
	}
	f.codes = append(f.codes, req)
	return secret.Secret("the-code"), nil
}

func (f *fakeConsents) List(context.Context, string, string) ([]store.Consent, error) {
	return f.list, f.fail["List"]
}

func (f *fakeConsents) Revoke(_ context.Context, _ kernel.Actor, _, _, clientID string) error {
	if err := f.fail["Revoke"]; err != nil {
		return err
	}
	for _, c := range f.list {
		if c.ClientID == clientID {
			f.revoked = append(f.revoked, clientID)
			return nil
		}
	}
	return store.ErrNotFound
}

// fakeSessions keeps sessions in a map by ID, with a clock.
type fakeSessions struct {
	mu   sync.Mutex
	now  func() time.Time
	byID map[string]store.Session
	fail error // every method
	// failList and failEnd fail List, and End and EndAll.
	failList, failEnd error
	n                 int
}

func (f *fakeSessions) Start(_ context.Context, tm, userID, ip, ua string) (secret.Secret, store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", store.Session{}, f.fail
	}
	f.n++
	id := fmt.Sprintf("%043d", f.n) // well formed: 43 characters
	rec := store.Session{Team: tm, Hash: []byte("hash " + id), UserID: userID, CreatedAt: f.now(), LastSeenAt: f.now(),
		ExpiresAt: f.now().Add(12 * time.Hour), IP: ip, UserAgent: ua}
	f.byID[id] = rec
	return secret.Secret(id), rec, nil
}

func (f *fakeSessions) Live(_ context.Context, tm, id string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return store.Session{}, f.fail
	}
	rec, ok := f.byID[id]
	if !ok || rec.Team != tm || !f.now().Before(rec.ExpiresAt) {
		return store.Session{}, store.ErrNotFound
	}
	return rec, nil
}

func (f *fakeSessions) End(_ context.Context, tm, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := cmp.Or(f.fail, f.failEnd); err != nil {
		return err
	}
	if rec, ok := f.byID[id]; ok && rec.Team == tm {
		delete(f.byID, id)
	}
	return nil
}

func (f *fakeSessions) EndAll(_ context.Context, tm, userID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := cmp.Or(f.fail, f.failEnd); err != nil {
		return 0, err
	}
	n := 0
	for id, rec := range f.byID {
		if rec.Team == tm && rec.UserID == userID {
			delete(f.byID, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeSessions) List(_ context.Context, tm, userID string) ([]store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := cmp.Or(f.fail, f.failList); err != nil {
		return nil, err
	}
	var out []store.Session
	for _, rec := range f.byID {
		if rec.Team == tm && rec.UserID == userID && f.now().Before(rec.ExpiresAt) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// fakeIDTokens verifies the ID tokens it holds: each token is its own
// claims' key.
type fakeIDTokens map[string][]byte

func (f fakeIDTokens) VerifyIDToken(_ context.Context, _, raw string) ([]byte, signing.Header, error) {
	if p, ok := f[raw]; ok {
		return p, signing.Header{Alg: "RS256", Type: "JWT"}, nil
	}
	return nil, signing.Header{}, signing.ErrSignature
}

type fixture struct {
	ui       *UI
	idTokens fakeIDTokens
	users    *fakeUsers
	sessions *fakeSessions
	consents *fakeConsents
	audit    *audittest.Trail
	refusals *ratelimit.Refusals
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	hash, err := secret.HashPasswordWith(secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, adaPassword, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := masterkey.New(bytes.Repeat([]byte{3}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		users: &fakeUsers{users: map[string]store.User{
			"ada@example.com": {Team: team, ID: adaID, Email: "ada@example.com", Name: "Ada", PasswordHash: hash},
			"bob@example.com": {Team: team, ID: "b0b", Email: "bob@example.com", Name: "Bob", PasswordHash: hash, Disabled: true},
		}},
		consents: &fakeConsents{},
		idTokens: fakeIDTokens{},
		audit:    &audittest.Trail{},
		now:      time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
	}
	f.sessions = &fakeSessions{now: func() time.Time { return f.now }, byID: map[string]store.Session{}}
	clients := fakeClients{appID: {Team: team, ID: appID, Name: "Reports", GrantTypes: []string{"authorization_code"},
		AuthMethod: "client_secret_basic", Scopes: []string{scope.AuditLogRead, "team.user-group-info:read", scope.OpenID},
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogoutURI}}}
	f.refusals = ratelimit.NewRefusals(f.audit, time.Minute, func() time.Time { return f.now })
	f.ui, err = New(Options{
		Users: f.users, Clients: clients, Consents: f.consents, Sessions: f.sessions, Scopes: cat, Key: mk, IDTokens: f.idTokens,
		AccountLimit: ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "login.account", Max: 3, Window: time.Minute, Now: func() time.Time { return f.now }}),
		IPLimit:      ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "login.ip", Max: 100, Window: time.Minute, Now: func() time.Time { return f.now }}),
		Refusals:     f.refusals,
		Passwords:    secret.NewPasswordQueue(secret.PasswordQueueOptions{}),
		Audit:        f.audit, Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// serve runs h on a request for the team's host, as the server's
// middleware would present it.
func serve(h http.HandlerFunc, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h(rec, onTeam(r))
	return rec
}

// onTeam is r as the middleware hands it on for the team's host.
func onTeam(r *http.Request) *http.Request {
	info := &edge.Info{RequestID: "test", Team: store.Team{Name: team}, TeamURL: "http://acme.gatehouse.test",
		TeamHost: "acme.gatehouse.test", Log: slog.New(slog.DiscardHandler)}
	r.Host = "acme.gatehouse.test"
	return r.WithContext(edge.WithInfo(r.Context(), info))
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginForm fetches the sign-in page and returns its CSRF token and cookie.
func (f *fixture) loginForm(t *testing.T) (string, *http.Cookie) {
	t.Helper()
	rec := serve(f.ui.ServeLoginPage, httptest.NewRequest("GET", "/login", nil))
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || len(rec.Result().Cookies()) == 0 {
		t.Fatalf("login page: %d, %q", rec.Code, rec.Body)
	}
	return m[1], rec.Result().Cookies()[0]
}

func (f *fixture) postLogin(t *testing.T, form url.Values, ck *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if ck != nil {
		r.AddCookie(ck)
	}
	return serve(f.ui.ServeLogin, r)
}

// signIn signs Ada in and returns her session cookie.
func (f *fixture) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	tok, ck := f.loginForm(t)
	rec := f.postLogin(t, url.Values{"csrf_token": {tok}, "email": {"ada@example.com"}, "password": {adaPassword}}, ck)
	for _, c := range rec.Result().Cookies() {
		if c.Name == f.ui.sessionCk && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session after signing in: %d %s", rec.Code, rec.Body)
	return nil
}

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name       string
		email, pw  string
		noCSRF     bool
		status     int
		reason     string // of the login event; "" for success
		session    bool
		audit      string
		bodyPhrase string
	}{
		{name: "right password", email: "ada@example.com", pw: adaPassword, status: http.StatusSeeOther, session: true, audit: "login.success"},
		{name: "email is case-insensitive", email: " Ada@Example.com", pw: adaPassword, status: http.StatusSeeOther, session: true, audit: "login.success"},
		{name: "wrong password", email: "ada@example.com", pw: "nope", status: 400, reason: "bad password", audit: "login.failure", bodyPhrase: badCredentials},
		{name: "unknown user reads the same", email: "eve@example.com", pw: "nope", status: 400, reason: "no such user", audit: "login.failure", bodyPhrase: badCredentials},
		{name: "disabled, right password", email: "bob@example.com", pw: adaPassword, status: 400, reason: "disabled", audit: "login.failure", bodyPhrase: "disabled"},
		{name: "disabled, wrong password, not told", email: "bob@example.com", pw: "nope", status: 400, reason: "bad password", audit: "login.failure", bodyPhrase: badCredentials},
		{name: "incomplete", email: "ada@example.com", status: 400, reason: "incomplete form", audit: "login.failure"},
		{name: "no CSRF token", email: "ada@example.com", pw: adaPassword, noCSRF: true, status: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tok, ck := f.loginForm(t)
			form := url.Values{"email": {tc.email}, "password": {tc.pw}}
			if !tc.noCSRF {
				form.Set("csrf_token", tok)
			}
			rec := f.postLogin(t, form, ck)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.bodyPhrase != "" && !strings.Contains(rec.Body.String(), tc.bodyPhrase) {
				t.Errorf("body lacks %q", tc.bodyPhrase)
			}
			gotSession := false
			for _, c := range rec.Result().Cookies() {
				gotSession = gotSession || c.Name == f.ui.sessionCk && c.Value != ""
			}
			if gotSession != tc.session {
				t.Errorf("session cookie set: %v, want %v", gotSession, tc.session)
			}
			if tc.status == 403 {
				if len(f.users.logins) != 0 {
					t.Errorf("a refused form was recorded: %+v", f.users.logins)
				}
				return
			}
			if len(f.users.logins) != 1 || f.users.logins[0].Reason != tc.reason || f.users.logins[0].Success != (tc.reason == "") {
				t.Errorf("login events %+v, want one with reason %q", f.users.logins, tc.reason)
			}
			if got := f.audit.Actions(); len(got) != 1 || got[0] != tc.audit {
				t.Errorf("audit %v, want [%s]", got, tc.audit)
			}
		})
	}
}

// Attempts refused by the limit are counted, not written one by one: no
// login event and no audit event each, one "login.throttled" event per
// account or address and window with the count.
func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	tok, ck := f.loginForm(t)
	bad := url.Values{"csrf_token": {tok}, "email": {"ada@example.com"}, "password": {"nope"}}
	for range 3 {
		if rec := f.postLogin(t, bad, ck); rec.Code != 400 {
			t.Fatalf("failure answered %d", rec.Code)
		}
	}
	good := url.Values{"csrf_token": {tok}, "email": {"ada@example.com"}, "password": {adaPassword}}
	for i := range 1000 {
		rec := f.postLogin(t, good, ck)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("attempt %d after the limit: %d, Retry-After %q; want 429 with Retry-After", i+1, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := len(f.users.logins); n != 3 {
		t.Errorf("%d login events after 3 failures and 1,000 refused attempts, want 3", n)
	}
	if got := strings.Join(f.audit.Actions(), ","); got != "login.failure,login.failure,login.failure" {
		t.Errorf("audit before the window closes: %s, want the 3 failures only", got)
	}
	f.now = f.now.Add(2 * time.Minute)
	f.refusals.WriteClosed()
	events := f.audit.Take()
	if len(events) != 4 {
		t.Fatalf("audit after the window: %d events, want 3 failures and 1 throttled", len(events))
	}
	th := events[3]
	if th.Action != "login.throttled" || th.Target != "user:ada@example.com" || th.Detail["count"] != "1000" ||
		th.Detail["limit"] != "account" || th.Team != team {
		t.Errorf("throttled event %+v, want login.throttled of user:ada@example.com counting 1000 by account", th)
	}
	if rec := f.postLogin(t, good, ck); rec.Code != http.StatusSeeOther {
		t.Errorf("after the window: %d, want a sign-in", rec.Code)
	}
}

// An address that sprays accounts is refused per address, under one key,
// and incomplete forms count against it too: none writes without bound.
func TestLoginThrottleByAddress(t *testing.T) {
	f := newFixture(t)
	tok, ck := f.loginForm(t)
	for i := range 100 { // the address's allowance, spent on incomplete forms
		if rec := f.postLogin(t, url.Values{"csrf_token": {tok}, "email": {fmt.Sprintf("u%d@example.com", i)}}, ck); rec.Code != 400 {
			t.Fatalf("incomplete form %d answered %d", i, rec.Code)
		}
	}
	for i := range 1000 {
		form := url.Values{"csrf_token": {tok}, "email": {fmt.Sprintf("v%d@example.com", i)}, "password": {"guess"}}
		if rec := f.postLogin(t, form, ck); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("attempt %d from a blocked address answered %d", i, rec.Code)
		}
	}
	if n := len(f.users.logins); n != 100 {
		t.Errorf("%d login events, want the 100 incomplete forms only", n)
	}
	f.refusals.Flush(t.Context())
	var throttled []store.AuditEvent
	for _, e := range f.audit.Take() {
		if e.Action == "login.throttled" {
			throttled = append(throttled, e)
		}
	}
	if len(throttled) != 1 || throttled[0].Target != "ip:192.0.2.1" || throttled[0].Detail["count"] != "1000" || throttled[0].Detail["limit"] != "ip" {
		t.Errorf("throttled events %+v, want one of ip:192.0.2.1 counting 1000", throttled)
	}
}

// What a sign-in form and its request carry is stored bounded.
func TestLoginBoundedStrings(t *testing.T) {
	f := newFixture(t)
	tok, ck := f.loginForm(t)
	huge := strings.Repeat("x", 1<<20)
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {tok}, "email": {huge + "@example.com"},
		"password": {"nope"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("User-Agent", huge+"\xff")
	r.AddCookie(ck)
	if rec := serve(f.ui.ServeLogin, r); rec.Code != 400 {
		t.Fatalf("answered %d, want 400", rec.Code)
	}
	if len(f.users.logins) != 1 {
		t.Fatalf("%d login events, want 1", len(f.users.logins))
	}
	e := f.users.logins[0]
	if len(e.Email) > kernel.MaxEmail || len(e.UserAgent) > kernel.MaxUserAgent || !utf8.ValidString(e.UserAgent) {
		t.Errorf("login event keeps an email of %d bytes and a user agent of %d: want at most %d and %d", len(e.Email), len(e.UserAgent),
			kernel.MaxEmail, kernel.MaxUserAgent)
	}
	for _, a := range f.audit.Take() {
		if len(a.Target) > kernel.MaxName || len(a.UserAgent) > kernel.MaxUserAgent {
			t.Errorf("audit event %s keeps a target of %d bytes and a user agent of %d", a.Action, len(a.Target), len(a.UserAgent))
		}
	}
}

func authorizeURL(mod func(url.Values)) string {
	q := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirectURI},
		"scope": {"audit.log:read"}, "state": {"xyz"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
	if mod != nil {
		mod(q)
	}
	return "/oauth2/authorize?" + q.Encode()
}

func TestAuthorize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mod        func(url.Values)
		signedIn   bool
		remembered bool
		status     int
		location   string // prefix of the redirect; "" when none
		query      map[string]string
	}{
		{name: "unknown client: a page, no redirect", mod: func(q url.Values) { q.Set("client_id", "nope") }, status: 400},
		{name: "unregistered redirect URI: a page", mod: func(q url.Values) { q.Set("redirect_uri", redirectURI+"/") }, status: 400},
		{name: "no PKCE: back to the client", mod: func(q url.Values) { q.Del("code_challenge") }, status: 302, location: redirectURI,
			query: map[string]string{"error": "invalid_request", "state": "xyz", "iss": "http://acme.gatehouse.test"}},
		{name: "scope beyond the client's", mod: func(q url.Values) { q.Set("scope", "studio") }, status: 302, location: redirectURI,
			query: map[string]string{"error": "invalid_scope", "state": "xyz"}},
		{name: "not signed in: to the sign-in page", status: 302, location: "/login?return_to="},
		{name: "signed in, no consent yet: the consent page", signedIn: true, status: 200},
		{name: "remembered consent: a code at once", signedIn: true, remembered: true, status: 302, location: redirectURI,
			query: map[string]string{"code": "the-code", "state": "xyz", "iss": "http://acme.gatehouse.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.consents.remembered = tc.remembered
			r := httptest.NewRequest("GET", authorizeURL(tc.mod), nil)
			if tc.signedIn {
				r.AddCookie(f.signIn(t))
			}
			rec := serve(f.ui.ServeAuthorize, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, tc.location) || (tc.location == "") != (loc == "") {
				t.Fatalf("Location %q, want prefix %q", loc, tc.location)
			}
			if tc.query != nil {
				u, err := url.Parse(loc)
				if err != nil {
					t.Fatal(err)
				}
				for k, want := range tc.query {
					if got := u.Query().Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
			}
			if tc.status == 200 && !strings.Contains(rec.Body.String(), "Reports") {
				t.Errorf("consent page does not name the client")
			}
		})
	}
}

// The consent form's decisions: approve remembers and issues a code, deny
// remembers nothing and is audited, a missing CSRF token is refused.
func TestConsentDecision(t *testing.T) {
	for _, tc := range []struct {
		name, decision string
		noCSRF         bool
		status         int
		query          map[string]string
		approved       int
		audit          []string
	}{
		{name: "approve", decision: "approve", status: http.StatusSeeOther, query: map[string]string{"code": "the-code", "state": "xyz"},
			approved: 1, audit: []string{"login.success"}},
		{name: "deny", decision: "deny", status: http.StatusSeeOther, query: map[string]string{"error": "access_denied", "state": "xyz"},
			audit: []string{"login.success", "consent.deny"}},
		{name: "no decision", decision: "", status: 400, audit: []string{"login.success"}},
		{name: "no CSRF token", decision: "approve", noCSRF: true, status: 403, audit: []string{"login.success"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			sess := f.signIn(t)
			page := httptest.NewRequest("GET", authorizeURL(nil), nil)
			page.AddCookie(sess)
			rec := serve(f.ui.ServeAuthorize, page)
			m := csrfField.FindStringSubmatch(rec.Body.String())
			if m == nil {
				t.Fatalf("no CSRF token on the consent page: %s", rec.Body)
			}
			u, _ := url.Parse(authorizeURL(nil))
			form := u.Query()
			form.Set("decision", tc.decision)
			if !tc.noCSRF {
				form.Set("csrf_token", m[1])
			}
			r := httptest.NewRequest("POST", "/oauth2/authorize", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.AddCookie(sess)
			rec = serve(f.ui.ServeAuthorize, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.query != nil {
				loc, _ := url.Parse(rec.Header().Get("Location"))
				for k, want := range tc.query {
					if got := loc.Query().Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
			}
			if len(f.consents.approved) != tc.approved {
				t.Errorf("%d approvals, want %d", len(f.consents.approved), tc.approved)
			}
			if got := strings.Join(f.audit.Actions(), ","); got != strings.Join(tc.audit, ",") {
				t.Errorf("audit %s, want %v", got, tc.audit)
			}
		})
	}
}

// A cross-site POST of the consent form is refused.
func TestCrossSitePostRefused(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("POST", "/oauth2/authorize", strings.NewReader("decision=approve"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(f.signIn(t))
	if rec := serve(f.ui.ServeAuthorize, r); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", rec.Code)
	}
	if len(f.consents.approved) != 0 {
		t.Error("a cross-site POST approved a consent")
	}
}

func TestSession(t *testing.T) {
	f := newFixture(t)
	sess := f.signIn(t)
	get := func(ck *http.Cookie) int {
		r := httptest.NewRequest("GET", "/profile", nil)
		if ck != nil {
			r.AddCookie(ck)
		}
		return serve(f.ui.ServeProfile, r).Code
	}
	if code := get(sess); code != 200 {
		t.Fatalf("profile with a session: %d", code)
	}
	if code := get(nil); code != http.StatusFound {
		t.Errorf("profile without a session: %d, want a redirect to sign in", code)
	}
	tampered := *sess
	tampered.Value = sess.Value[:len(sess.Value)-2] + "AA"
	if code := get(&tampered); code != http.StatusFound {
		t.Errorf("a tampered session: %d, want a redirect", code)
	}
	// A session the store no longer holds (ended on another node, or by
	// a new password) is refused, whatever the cookie says.
	f.sessions.mu.Lock()
	saved := maps.Clone(f.sessions.byID)
	clear(f.sessions.byID)
	f.sessions.mu.Unlock()
	if code := get(sess); code != http.StatusFound {
		t.Errorf("a session the store does not hold: %d, want a redirect", code)
	}
	f.sessions.mu.Lock()
	f.sessions.byID = saved
	f.sessions.mu.Unlock()
	ada := f.users.users["ada@example.com"]
	// Disabling the user ends the session.
	ada.Disabled = true
	f.users.users["ada@example.com"] = ada
	if code := get(sess); code != http.StatusFound {
		t.Errorf("after disabling the user: %d, want a redirect", code)
	}
	ada.Disabled = false
	f.users.users["ada@example.com"] = ada
	// Expiry.
	f.now = f.now.Add(13 * time.Hour)
	if code := get(sess); code != http.StatusFound {
		t.Errorf("after the session's lifetime: %d, want a redirect", code)
	}
	// A store that fails is unavailable, not signed out.
	f.now = f.now.Add(-13 * time.Hour)
	f.users.fail = errors.New("database is away")
	if code := get(sess); code != http.StatusServiceUnavailable {
		t.Errorf("with the store failing: %d, want 503", code)
	}
	f.users.fail = nil
	f.sessions.fail = errors.New("database is away")
	if code := get(sess); code != http.StatusServiceUnavailable {
		t.Errorf("with the session store failing: %d, want 503", code)
	}
}

// Signing out ends the session itself: a copy of the cookie is refused
// afterwards. Signing out everywhere ends every session of the user and
// no one else's.
func TestSignOutEndsSessions(t *testing.T) {
	post := func(f *fixture, h http.HandlerFunc, path string, ck *http.Cookie) *httptest.ResponseRecorder {
		profile := serve(f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), ck))
		m := csrfField.FindStringSubmatch(profile.Body.String())
		if m == nil {
			t.Fatalf("no CSRF token on the profile: %d", profile.Code)
		}
		r := httptest.NewRequest("POST", path, strings.NewReader(url.Values{"csrf_token": {m[1]}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		return serve(h, withCookie(r, ck))
	}
	profile := func(f *fixture, ck *http.Cookie) int {
		return serve(f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), ck)).Code
	}
	t.Run("sign-out", func(t *testing.T) {
		f := newFixture(t)
		sess, other := f.signIn(t), f.signIn(t)
		copied := *sess
		if rec := post(f, f.ui.ServeLogout, "/logout", sess); rec.Code != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", rec.Code)
		}
		if code := profile(f, &copied); code != http.StatusFound {
			t.Errorf("the copied cookie after sign-out: %d, want a redirect to sign in", code)
		}
		if code := profile(f, other); code != 200 {
			t.Errorf("another session of the user after sign-out: %d, want 200", code)
		}
	})
	t.Run("everywhere", func(t *testing.T) {
		f := newFixture(t)
		sess, other := f.signIn(t), f.signIn(t)
		// Another user's session stays.
		f.sessions.Start(context.Background(), team, "b0b", "", "")
		body := serve(f.ui.ServeProfile, withCookie(httptest.NewRequest("GET", "/profile", nil), sess)).Body.String()
		if !strings.Contains(body, `action="/profile/sessions/revoke"`) || strings.Count(body, "(this browser)") != 1 {
			t.Errorf("the profile lacks the sessions and their button:\n%s", body)
		}
		rec := post(f, f.ui.ServeLogoutEverywhere, "/profile/sessions/revoke", sess)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Fatalf("sign out everywhere: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		for _, ck := range []*http.Cookie{sess, other} {
			if code := profile(f, ck); code != http.StatusFound {
				t.Errorf("a session after signing out everywhere: %d, want a redirect", code)
			}
		}
		if len(f.sessions.byID) != 1 {
			t.Errorf("%d sessions left, want bob's", len(f.sessions.byID))
		}
		if evs := f.audit.Events(); len(evs) == 0 || evs[len(evs)-1].Action != "logout.everywhere" {
			t.Errorf("audit events %v, want logout.everywhere last", evs)
		}
	})
}

// APISession gives the profile API the signed-in user and the session's
// CSRF token; an unsafe request must carry the token from this origin.
func TestAPISession(t *testing.T) {
	f := newFixture(t)
	sess := f.signIn(t)
	get := onTeam(withCookie(httptest.NewRequest("GET", "/api/profile/consents", nil), sess))
	u, csrf, err := f.ui.APISession(get)
	if err != nil || u.ID != adaID || csrf == "" {
		t.Fatalf("APISession(GET) = %v, %q, %v", u.ID, csrf, err)
	}
	if _, _, err := f.ui.APISession(onTeam(httptest.NewRequest("GET", "/api/profile", nil))); !errors.Is(err, ErrNoSession) {
		t.Errorf("without a cookie: %v, want ErrNoSession", err)
	}
	for _, tc := range []struct {
		name, token, site string
		want              error
	}{
		{"no CSRF header", "", "same-origin", ErrCSRF},
		{"a wrong token", "x" + csrf, "same-origin", ErrCSRF},
		{"cross-site", csrf, "cross-site", ErrCSRF},
		{"the session's token", csrf, "same-origin", nil},
	} {
		r := withCookie(httptest.NewRequest("DELETE", "/api/profile/consents/"+appID, nil), sess)
		r.Header.Set("Sec-Fetch-Site", tc.site)
		if tc.token != "" {
			r.Header.Set("X-CSRF-Token", tc.token)
		}
		if _, _, err := f.ui.APISession(onTeam(r)); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// When the audit trail cannot take an event, the page that depends on it
// is the 503 page: no one is signed in or out, and no denial reaches the
// client, unaudited.
func TestAuditFails(t *testing.T) {
	hasSession := func(f *fixture, rec *httptest.ResponseRecorder) bool {
		for _, c := range rec.Result().Cookies() {
			if c.Name == f.ui.sessionCk {
				return true // set or cleared
			}
		}
		return false
	}
	t.Run("sign-in", func(t *testing.T) {
		for _, pw := range []string{adaPassword, "nope"} {
			f := newFixture(t)
			tok, ck := f.loginForm(t)
			f.audit.SetFail(true)
			rec := f.postLogin(t, url.Values{"csrf_token": {tok}, "email": {"ada@example.com"}, "password": {pw}}, ck)
			if rec.Code != http.StatusServiceUnavailable || hasSession(f, rec) {
				t.Errorf("password %q with the audit failing: %d, session cookie %v", pw, rec.Code, hasSession(f, rec))
			}
		}
	})
	t.Run("consent denied", func(t *testing.T) {
		f := newFixture(t)
		sess := f.signIn(t)
		page := httptest.NewRequest("GET", authorizeURL(nil), nil)
		page.AddCookie(sess)
		m := csrfField.FindStringSubmatch(serve(f.ui.ServeAuthorize, page).Body.String())
		if m == nil {
			t.Fatal("no consent page")
		}
		u, _ := url.Parse(authorizeURL(nil))
		form := u.Query()
		form.Set("decision", "deny")
		form.Set("csrf_token", m[1])
		r := httptest.NewRequest("POST", "/oauth2/authorize", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(sess)
		f.audit.SetFail(true)
		if rec := serve(f.ui.ServeAuthorize, r); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" {
			t.Errorf("denial with the audit failing: %d, Location %q", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("sign-out", func(t *testing.T) {
		f := newFixture(t)
		sess := f.signIn(t)
		profile := httptest.NewRequest("GET", "/profile", nil)
		profile.AddCookie(sess)
		m := csrfField.FindStringSubmatch(serve(f.ui.ServeProfile, profile).Body.String())
		if m == nil {
			t.Fatal("no CSRF token on the profile")
		}
		logout := func() *http.Request {
			r := httptest.NewRequest("POST", "/logout", strings.NewReader(url.Values{"csrf_token": {m[1]}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.AddCookie(sess)
			return r
		}
		f.audit.SetFail(true)
		if rec := serve(f.ui.ServeLogout, logout()); rec.Code != http.StatusServiceUnavailable || hasSession(f, rec) {
			t.Errorf("sign-out with the audit failing: %d, session cookie touched %v", rec.Code, hasSession(f, rec))
		}
		f.audit.SetFail(false)
		if rec := serve(f.ui.ServeLogout, logout()); rec.Code != http.StatusSeeOther || !hasSession(f, rec) {
			t.Errorf("sign-out: %d, session cookie cleared %v", rec.Code, hasSession(f, rec))
		}
	})
}
