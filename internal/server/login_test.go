package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Every form refuses a request without its CSRF token, with a wrong one,
// and a cross-site one: 403, and nothing done.
func TestCSRF(t *testing.T) {
	e := startFlowEnv(t)
	_, challenge := pkce(t)
	authURL := authorizeURL("acme", codeParams(e.app, "audit.log:read", "s", challenge))

	// A signed-in browser with a consent, its consent form and its profile
	// form.
	b := e.signedIn(t)
	consentPage := b.get(t, authURL)
	consentForm := formFields(t, consentPage, "/oauth2/authorize")
	consentForm.Set("decision", "approve")
	e.tokens(t, b, "team.user-group-info:read")
	profile := b.get(t, teamURL("acme", "/profile"))
	revokeAction := "/profile/consents/" + e.app.ID + "/revoke"
	revokeForm := formFields(t, profile, revokeAction)
	logoutForm := formFields(t, profile, "/logout")

	// A browser on the sign-in page.
	anon := e.browser(t)
	loginForm := formFields(t, anon.get(t, teamURL("acme", "/login")), "/login")
	loginForm.Set("email", e.user.Email)
	loginForm.Set("password", e.password)
	// Another browser's valid login token.
	otherLogin := formFields(t, e.browser(t).get(t, teamURL("acme", "/login")), "/login")

	without := func(v url.Values, k string) url.Values {
		out := url.Values{}
		for key, vals := range v {
			if key != k {
				out[key] = vals
			}
		}
		return out
	}
	with := func(v url.Values, k, val string) url.Values {
		out := without(v, k)
		out.Set(k, val)
		return out
	}
	for _, tc := range []struct {
		name string
		b    *browser
		path string
		form url.Values
		hdr  map[string]string
	}{
		{"login without token", anon, "/login", without(loginForm, "csrf_token"), nil},
		{"login with a wrong token", anon, "/login", with(loginForm, "csrf_token", "AAAA"), nil},
		{"login with another browser's token", anon, "/login", with(loginForm, "csrf_token", otherLogin.Get("csrf_token")), nil},
		{"login cross-site", anon, "/login", loginForm, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"login from another origin", anon, "/login", loginForm, map[string]string{"Origin": "https://evil.example"}},
		{"consent without token", b, "/oauth2/authorize", without(consentForm, "csrf_token"), nil},
		{"consent with a wrong token", b, "/oauth2/authorize", with(consentForm, "csrf_token", loginForm.Get("csrf_token")), nil},
		{"consent cross-site", b, "/oauth2/authorize", consentForm, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"revoke without token", b, revokeAction, without(revokeForm, "csrf_token"), nil},
		{"revoke with a wrong token", b, revokeAction, with(revokeForm, "csrf_token", consentForm.Get("code_challenge")), nil},
		{"revoke cross-site", b, revokeAction, revokeForm, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"logout without token", b, "/logout", without(logoutForm, "csrf_token"), nil},
		{"logout cross-site", b, "/logout", logoutForm, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.b.do(t, "POST", teamURL("acme", tc.path), tc.form, tc.hdr)
			if p.status != http.StatusForbidden || p.header.Get("Location") != "" {
				t.Fatalf("got %d %s, want 403", p.status, p.url)
			}
			if !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("403 page without an alert:\n%s", p.body)
			}
		})
	}

	// Nothing happened: the consent and the session are still there, and
	// the sign-in did not sign anyone in.
	if _, err := e.st.Consent(context.Background(), "acme", e.user.ID, e.app.ID); err != nil {
		t.Errorf("consent after refused revokes: %v", err)
	}
	if p := b.get(t, teamURL("acme", "/profile")); p.url.Path != "/profile" {
		t.Errorf("session after a refused logout: %s", p.url)
	}
	if p := anon.get(t, teamURL("acme", "/profile")); p.url.Path != "/login" {
		t.Errorf("a refused sign-in signed in: %s", p.url)
	}
	// And with the tokens, each form works.
	if p := anon.post(t, teamURL("acme", "/login"), loginForm); p.url.Path != "/profile" {
		t.Errorf("sign-in with its token: %d %s", p.status, p.url)
	}
	if p := b.post(t, teamURL("acme", revokeAction), revokeForm); p.url.Path != "/profile" || p.status != 200 {
		t.Errorf("revoke with its token: %d %s", p.status, p.url)
	}
	if p := b.post(t, teamURL("acme", "/logout"), logoutForm); p.url.Path != "/login" {
		t.Errorf("logout with its token: %d %s", p.status, p.url)
	}
	if p := b.get(t, teamURL("acme", "/profile")); p.url.Path != "/login" {
		t.Errorf("after logout /profile went to %s", p.url)
	}
}

// Failed sign-ins are limited per account and per IP: 429 with
// Retry-After, even for the right password, until the window ends. A
// refused attempt is not in the login history: one audit event per
// account or address and minute counts them.
func TestLoginThrottling(t *testing.T) {
	e := startFlowEnv(t, func(c *config.Config) {
		c.LoginFailures = 3
		c.LoginIPFailures = 5
		c.LoginWindow = 10 * time.Minute
	})
	b := e.browser(t)
	attempt := func(email, password string) page {
		t.Helper()
		f := formFields(t, b.get(t, teamURL("acme", "/login")), "/login")
		f.Set("email", email)
		f.Set("password", password)
		return b.post(t, teamURL("acme", "/login"), f)
	}

	t.Run("per account", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if p := attempt(e.user.Email, "wrong password"); p.status != http.StatusBadRequest {
				t.Fatalf("failure %d: %d", i+1, p.status)
			}
		}
		p := attempt(e.user.Email, e.password)
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
			t.Fatalf("after 3 failures the right password got %d Retry-After %q", p.status, p.header.Get("Retry-After"))
		}
		if !strings.Contains(p.body, "Too many attempts") {
			t.Errorf("429 page:\n%s", p.body)
		}
		e.clock.Advance(10*time.Minute + time.Second)
		if p := attempt(e.user.Email, e.password); p.url.Path != "/profile" {
			t.Fatalf("after the window: %d %s", p.status, p.url)
		}
	})

	t.Run("per IP", func(t *testing.T) {
		e.clock.Advance(10*time.Minute + time.Second)
		b = e.browser(t)
		for i := 0; i < 5; i++ {
			if p := attempt("nobody"+string(rune('a'+i))+"@example.com", "guess"); p.status != http.StatusBadRequest {
				t.Fatalf("failure %d: %d", i+1, p.status)
			}
		}
		if p := attempt(e.user.Email, e.password); p.status != http.StatusTooManyRequests {
			t.Fatalf("after 5 failures from one IP: %d", p.status)
		}
	})

	t.Run("history", func(t *testing.T) {
		evs, _, err := e.st.ListLogins(context.Background(), "acme", store.LoginFilter{Result: "failure"}, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, ev := range evs {
			reasons[ev.Reason]++
		}
		if len(reasons) != 2 || reasons["bad password"] != 3 || reasons["no such user"] != 5 {
			t.Errorf("failure reasons %v, want 3 bad passwords and 5 unknown users", reasons)
		}
		// The per-IP window is still open; once it closes both refusals
		// are in the audit log, counted per key.
		e.clock.Advance(2 * time.Minute)
		var got []store.AuditEvent
		poll.Must(t, 10*time.Second, "two login.throttled events", func() bool {
			got, _, err = e.st.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "login.throttled"}, store.Page{Limit: 10})
			return err == nil && len(got) == 2
		})
		byLimit := map[string]string{}
		for _, ev := range got {
			byLimit[ev.Detail["limit"]] = ev.Target + " " + ev.Detail["count"]
		}
		if want := map[string]string{"account": "user:" + e.user.Email + " 1", "ip": "ip:127.0.0.1 1"}; !maps.Equal(byLimit, want) {
			t.Errorf("login.throttled events %v, want %v", byLimit, want)
		}
	})
}

// An unknown email and a wrong password get the same answer; every
// attempt is in the login history; a disabled user cannot sign in.
func TestLoginAnswersAndHistory(t *testing.T) {
	e := startFlowEnv(t)
	b := e.browser(t)
	attempt := func(email, password string) page {
		t.Helper()
		f := formFields(t, b.get(t, teamURL("acme", "/login")), "/login")
		f.Set("email", email)
		f.Set("password", password)
		return b.do(t, "POST", teamURL("acme", "/login"), f, map[string]string{"User-Agent": "login-test/1.0"})
	}
	// The same email, so that the pages can be compared whole.
	unknown := attempt("zed@example.com", "whatever password")
	e.newUser(t, "acme", "zed2@example.com")
	wrong := attempt("zed2@example.com", "whatever password")
	if unknown.status != http.StatusBadRequest || wrong.status != unknown.status {
		t.Fatalf("statuses: unknown %d, wrong password %d", unknown.status, wrong.status)
	}
	if got, want := strings.ReplaceAll(wrong.body, "zed2@", "zed@"), unknown.body; got != want {
		t.Errorf("the answers differ:\nunknown email:\n%s\nwrong password:\n%s", want, wrong.body)
	}
	for _, want := range []string{`role="alert"`, `aria-describedby="form-error"`, `aria-invalid="true"`} {
		if !strings.Contains(unknown.body, want) {
			t.Errorf("failed sign-in page lacks %s", want)
		}
	}

	// A disabled user, with the right password.
	dis, pw := e.newUser(t, "acme", "dis@example.com")
	dis.Disabled = true
	if err := e.st.UpdateUser(context.Background(), dis); err != nil {
		t.Fatal(err)
	}
	if p := attempt(dis.Email, pw); p.status != http.StatusBadRequest || !strings.Contains(p.body, "disabled") {
		t.Errorf("disabled user: %d", p.status)
	}
	// A disabled user's session ends too.
	ok := e.signedIn(t)
	u := e.user
	u.Disabled = true
	if err := e.st.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if p := ok.get(t, teamURL("acme", "/profile")); p.url.Path != "/login" {
		t.Errorf("a disabled user's session still works: %s", p.url)
	}
	u.Disabled = false
	if err := e.st.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if p := attempt(e.user.Email, e.password); p.url.Path != "/profile" {
		t.Fatalf("sign-in: %d %s", p.status, p.url)
	}

	evs, _, err := e.st.ListLogins(context.Background(), "acme", store.LoginFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		email, reason string
		success, user bool
	}
	var got []row
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.IP != "127.0.0.1" || ev.At.IsZero() {
			t.Errorf("login event %+v: want IP and time", ev)
		}
		if ev.UserAgent != "login-test/1.0" && ev.Email != e.user.Email {
			t.Errorf("login event %+v: want the user agent", ev)
		}
		got = append(got, row{ev.Email, ev.Reason, ev.Success, ev.UserID != ""})
	}
	want := []row{
		{"zed@example.com", "no such user", false, false},
		{"zed2@example.com", "bad password", false, true},
		{"dis@example.com", "disabled", false, true},
		{e.user.Email, "", true, true}, // signedIn
		{e.user.Email, "", true, true},
	}
	if len(got) != len(want) {
		t.Fatalf("login history %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("login %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// return_to is honoured only for a path on this host.
func TestLoginReturnTo(t *testing.T) {
	e := startFlowEnv(t)
	for _, tc := range []struct {
		returnTo string
		want     string
	}{
		{"/profile?x=1", "/profile?x=1"},
		{"/oauth2/authorize?client_id=x", "/oauth2/authorize?client_id=x"},
		{"https://evil.example/", "/profile"},
		{"//evil.example/", "/profile"},
		{"/\\evil.example/", "/profile"},
		{"http:/evil.example", "/profile"},
		{"javascript:alert(1)", "/profile"},
		{"/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"},
		{"/\t/evil.example", "/profile"},
	} {
		t.Run(tc.returnTo, func(t *testing.T) {
			b := e.browser(t)
			// Stop at the first redirect after the sign-in.
			b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			p := b.get(t, teamURL("acme", "/login?return_to="+url.QueryEscape(tc.returnTo)))
			f := formFields(t, p, "/login")
			f.Set("email", e.user.Email)
			f.Set("password", e.password)
			if !f.Has("return_to") {
				f.Set("return_to", tc.returnTo) // a forged form
			}
			p = b.post(t, teamURL("acme", "/login"), f)
			if p.status != http.StatusSeeOther || p.header.Get("Location") != tc.want {
				t.Fatalf("got %d Location %q, want %q", p.status, p.header.Get("Location"), tc.want)
			}
		})
	}
}

// The session cookie: HttpOnly, SameSite=Lax, Path=/, host-only; under
// https named with the __Host- prefix and Secure. It opens only at its
// team, and a new password ends it.
func TestSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		scheme, name string
		secure       bool
	}{
		{"http", "gatehouse_session", false},
		{"https", "__Host-gatehouse_session", true},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			e := newOAuthEnv(t, func(c *config.Config) { c.Scheme = tc.scheme })
			user, password := e.newUser(t, "acme", "ann@example.com")
			// By hand: a jar would not send Secure cookies over plain HTTP.
			hc := &http.Client{Transport: e.http.Transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			p := send(t, hc, "GET", teamURL("acme", "/login"), nil, nil)
			login := cookieNamed(t, p.header, strings.Replace(tc.name, "session", "login", 1))
			checkCookie(t, login, tc.secure)
			f := formFields(t, page{status: p.status, url: &url.URL{Path: "/login"}, body: string(p.raw)}, "/login")
			f.Set("email", user.Email)
			f.Set("password", password)
			p = send(t, hc, "POST", teamURL("acme", "/login"), f, map[string]string{"Cookie": login.Name + "=" + login.Value})
			if p.status != http.StatusSeeOther {
				t.Fatalf("sign-in: %d %s", p.status, p.raw)
			}
			sess := cookieNamed(t, p.header, tc.name)
			checkCookie(t, sess, tc.secure)
			if sess.MaxAge != int((12 * time.Hour).Seconds()) {
				t.Errorf("Max-Age %d, want 12 h", sess.MaxAge)
			}

			profile := func(team string) int {
				r := send(t, hc, "GET", teamURL(team, "/profile"), nil, map[string]string{"Cookie": sess.Name + "=" + sess.Value})
				return r.status
			}
			if got := profile("acme"); got != 200 {
				t.Fatalf("profile with the session: %d", got)
			}
			if got := profile("beta"); got != http.StatusFound {
				t.Errorf("acme's session at beta: %d, want a redirect to sign in", got)
			}
			// A new password ends the session.
			user.PasswordHash, _ = secret.HashPasswordWith(servertest.CheapPasswords, "another long password", nil)
			if err := e.st.UpdateUser(context.Background(), user); err != nil {
				t.Fatal(err)
			}
			if got := profile("acme"); got != http.StatusFound {
				t.Errorf("session after a password change: %d, want a redirect to sign in", got)
			}
		})
	}
}

func cookieNamed(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %q", name, h.Values("Set-Cookie"))
	return nil
}

func checkCookie(t *testing.T, c *http.Cookie, secure bool) {
	t.Helper()
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != secure {
		t.Errorf("cookie %s: %q; want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure %v", c.Name, c.Raw, secure)
	}
}

// The pages are real pages: the team's name, the language, headings,
// labelled fields, and headers that keep them private and unframed.
func TestPages(t *testing.T) {
	e := startFlowEnv(t)
	b := e.signedIn(t)
	for _, path := range []string{"/login", "/profile"} {
		t.Run(path, func(t *testing.T) {
			bb := b
			if path == "/login" {
				bb = e.browser(t)
			}
			p := bb.get(t, teamURL("acme", path))
			if p.status != 200 || p.url.Path != path {
				t.Fatalf("%d %s", p.status, p.url)
			}
			for _, want := range []string{`<html lang="en">`, "<title>", "· acme</title>", "<main", "<h1>", ">acme</p>"} {
				if !strings.Contains(p.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, forbidden := range []string{"<script", "http://", "https://"} {
				if strings.Contains(p.body, forbidden) {
					t.Errorf("page has %q: nothing may load from elsewhere", forbidden)
				}
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store",
				"Referrer-Policy": "no-referrer", "Content-Type": "text/html; charset=utf-8"} {
				if got := p.header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			// The inline style is the one the policy allows, by its hash.
			style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(p.body)
			if style == nil {
				t.Fatal("no inline style")
			}
			sum := sha256.Sum256([]byte(style[1]))
			hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src "+hash) {
				t.Errorf("CSP %q does not allow the style %s", csp, hash)
			}
		})
	}
}
