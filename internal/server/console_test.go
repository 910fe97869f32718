package server_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// The web console over plain HTTP against a real server: who may see which
// page, and how its forms answer what the services refuse. The same flows
// in a browser, with the accessibility check, are internal/webui's
// TestConsoleInBrowser.

// consoleUser is a signed-in browser-like client: a cookie jar, no
// redirects followed.
type consoleUser struct {
	t    *testing.T
	http *http.Client
}

func signInConsole(t *testing.T, h *servertest.Server, email string) *consoleUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := *h.HTTP
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u := &consoleUser{t: t, http: &hc}
	st, body := u.get("/login")
	m := csrfField.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		t.Fatalf("login page: %d", st)
	}
	if st, _ := u.post("/login", url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {servertest.Password}}); st != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, st)
	}
	return u
}

func (u *consoleUser) do(req *http.Request) (int, string) {
	u.t.Helper()
	resp, err := u.http.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (u *consoleUser) get(path string) (int, string) {
	req, _ := http.NewRequest("GET", servertest.URL("acme", path), nil)
	return u.do(req)
}

func (u *consoleUser) post(path string, form url.Values) (int, string) {
	req, _ := http.NewRequest("POST", servertest.URL("acme", path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

// csrf is the session's CSRF token, from a page's meta element.
func (u *consoleUser) csrf() string {
	u.t.Helper()
	_, body := u.get("/profile")
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		u.t.Fatal("no CSRF token on the profile")
	}
	return m[1]
}

func TestConsoleAccess(t *testing.T) {
	h := servertest.Start(t, servertest.WithTeams("acme"))
	h.User(t, "acme", admin.NewUser{Email: "admin@example.com", TeamAdmin: true})
	h.User(t, "acme", admin.NewUser{Email: "nobody@example.com"})
	u := h.User(t, "acme", admin.NewUser{Email: "auditor@example.com"})
	h.Grant(t, "acme", "user:auditor@example.com", "read", "audit-log")
	h.Grant(t, "acme", "user:auditor@example.com", "read", "clients")
	c, _ := h.Client(t, "acme", client.NewClient{Name: "etl", Scopes: []string{"audit.log:read"}})
	h.App(t, "acme", "pusher")
	h.Group(t, "acme", "ops", "auditor@example.com")
	k, _ := h.StaticKey(t, "acme", statickey.KindUser, "auditor@example.com")
	h.SyncChanges(t)

	boss, nobody, auditor := signInConsole(t, h, "admin@example.com"), signInConsole(t, h, "nobody@example.com"), signInConsole(t, h, "auditor@example.com")
	pages := []struct {
		path             string
		auditor          int // the team admin gets 200, a user without permissions 403
		bossWants        int
		hidesFromAuditor bool
	}{
		{"/admin/applications", 200, 200, false},
		{"/admin/applications?q=et&grant_type=client_credentials&scope=audit.log%3Aread", 200, 200, false},
		{"/admin/applications/new", 403, 200, true},
		{"/admin/applications/clients/" + c.ID, 200, 200, false},
		{"/admin/applications/clients/" + c.ID + "/secret", 403, 200, true},
		{"/admin/applications/clients/" + c.ID + "/delete", 403, 200, true},
		{"/admin/applications/apps", 403, 200, true},
		{"/admin/applications/apps/pusher", 403, 200, true},
		{"/admin/applications/apps/pusher/delete", 403, 200, true},
		{"/admin/users", 403, 200, true},
		{"/admin/users/" + u.ID, 403, 200, true},
		{"/admin/users/auditor@example.com", 403, 200, true},
		{"/admin/groups", 403, 200, true},
		{"/admin/groups/ops", 403, 200, true},
		{"/admin/permissions?principal=user%3Aauditor%40example.com", 403, 200, true},
		{"/admin/static-keys", 403, 200, true},
		{"/admin/static-keys/" + k.ID + "/migrate", 403, 200, true},
		{"/admin/static-keys/" + k.ID + "/delete", 403, 200, true},
		{"/admin/audit-log?since=2020-01-01T00%3A00&action=user.create", 200, 200, false},
		{"/admin/login-history?result=success", 403, 200, true},
		{"/admin/settings", 403, 200, true},
		{"/admin/applications/clients/00000000-0000-4000-8000-000000000000", 404, 404, false},
		{"/admin/groups/nope", 403, 404, true},
		{"/admin/audit-log?since=yesterday", 400, 400, false},
	}
	for _, p := range pages {
		if st, body := boss.get(p.path); st != p.bossWants {
			t.Errorf("team admin: GET %s: %d, want %d: %s", p.path, st, p.bossWants, body)
		}
		if st, _ := nobody.get(p.path); st != http.StatusForbidden {
			t.Errorf("no permissions: GET %s: %d, want 403", p.path, st)
		}
		if st, _ := auditor.get(p.path); st != p.auditor {
			t.Errorf("auditor: GET %s: %d, want %d", p.path, st, p.auditor)
		}
	}
	// The navigation: every section for the admin, the two readable ones
	// for the auditor, none for a user without permissions.
	for _, tc := range []struct {
		who  *consoleUser
		want []string
		not  []string
	}{
		{boss, []string{"/admin/applications", "/admin/users", "/admin/settings", "/admin/login-history"}, nil},
		{auditor, []string{"/admin/applications", "/admin/audit-log"}, []string{"/admin/users", "/admin/settings"}},
		{nobody, nil, []string{`aria-label="Console"`}},
	} {
		_, body := tc.who.get("/profile")
		nav := body
		if i := strings.Index(body, `<main`); i > 0 {
			nav = body[:i]
		}
		for _, w := range tc.want {
			if !strings.Contains(nav, `href="`+w+`"`) {
				t.Errorf("the navigation lacks %s", w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(nav, n) {
				t.Errorf("the navigation shows %s", n)
			}
		}
	}
	// /admin goes to the first section the user may see.
	if st, _ := auditor.get("/admin"); st != http.StatusFound {
		t.Errorf("/admin for the auditor: %d, want 302", st)
	}
	// A change the user may not make is 403, whatever the form.
	if st, _ := auditor.post("/admin/applications/new", url.Values{"csrf_token": {auditor.csrf()}, "name": {"x"}}); st != http.StatusForbidden {
		t.Errorf("the auditor registers a client: %d, want 403", st)
	}
	// Without the session's CSRF token, a form is refused, even the admin's.
	if st, _ := boss.post("/admin/applications/apps", url.Values{"name": {"sneaky"}}); st != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d, want 403", st)
	}
	// Without a session, a page sends the browser to sign in first.
	anon := &consoleUser{t: t, http: &http.Client{Transport: h.HTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if st, _ := anon.get("/admin/users"); st != http.StatusFound {
		t.Errorf("/admin/users without a session: %d, want 302", st)
	}
}

func TestConsoleForms(t *testing.T) {
	h := servertest.Start(t, servertest.WithTeams("acme"))
	h.User(t, "acme", admin.NewUser{Email: "admin@example.com", TeamAdmin: true})
	ada := h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	h.Grant(t, "acme", "user:ada@example.com", "manage", "permissions")
	h.Grant(t, "acme", "user:ada@example.com", "read", "permissions")
	h.App(t, "acme", "pusher")
	h.SyncChanges(t)
	boss := signInConsole(t, h, "admin@example.com")
	tok := boss.csrf()

	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		says       string
	}{
		{"a client without a name or scopes names the fields", "/admin/applications/new",
			url.Values{"grant_types": {"client_credentials"}, "auth_method": {"client_secret_basic"}}, 422, `id="name-error"`},
		{"an unknown scope names the field", "/admin/applications/new",
			url.Values{"name": {"x"}, "grant_types": {"client_credentials"}, "auth_method": {"client_secret_basic"}, "scopes": {"nope"}}, 422, `id="scopes-error"`},
		{"a bad lifetime names the field", "/admin/applications/new",
			url.Values{"name": {"x"}, "grant_types": {"client_credentials"}, "auth_method": {"client_secret_basic"}, "scopes": {"audit.log:read"},
				"access_token_ttl": {"soon"}}, 422, `id="access_token_ttl-error"`},
		{"a duplicate application", "/admin/applications/apps", url.Values{"name": {"pusher"}}, 409, "pick another name"},
		{"a bad email", "/admin/users", url.Values{"email": {"not-an-email"}, "password": {servertest.Password}}, 422, `id="email-error"`},
		{"a short password", "/admin/users", url.Values{"email": {"x@example.com"}, "password": {"short"}}, 422, `id="password-error"`},
		{"a bad principal", "/admin/permissions", url.Values{"principal": {"robot:x"}, "action": {"read"}, "resource": {"clients"}}, 422, `id="principal-error"`},
		{"a stale user change", "/admin/users/" + ada.ID, url.Values{"email": {"ada@example.com"}, "version": {"0000"}}, 412, "Someone changed this"},
		{"a new client", "/admin/applications/new",
			url.Values{"name": {"etl"}, "grant_types": {"client_credentials"}, "auth_method": {"client_secret_post"}, "scopes": {"audit.log:read"}}, 201, `data-field="client_secret"`},
		{"an unknown ID token algorithm names the field", "/admin/applications/new",
			url.Values{"name": {"wiki"}, "grant_types": {"authorization_code"}, "auth_method": {"client_secret_basic"}, "scopes": {"openid"},
				"redirect_uris": {"https://wiki.example.com/cb"}, "id_token_signed_response_alg": {"HS256"}}, 422, `id="id_token_signed_response_alg-error"`},
		{"a bad post-logout URI names the field", "/admin/applications/new",
			url.Values{"name": {"wiki"}, "grant_types": {"authorization_code"}, "auth_method": {"client_secret_basic"}, "scopes": {"openid"},
				"redirect_uris": {"https://wiki.example.com/cb"}, "post_logout_redirect_uris": {"ftp://wiki.example.com/"}}, 422, `id="post_logout_redirect_uris-error"`},
		{"an OpenID Connect client", "/admin/applications/new",
			url.Values{"name": {"wiki"}, "grant_types": {"authorization_code"}, "auth_method": {"client_secret_basic"}, "scopes": {"openid", "email"},
				"redirect_uris": {"https://wiki.example.com/cb"}, "id_token_signed_response_alg": {"ES256"},
				"post_logout_redirect_uris": {"https://wiki.example.com/\r\nhttps://wiki.example.com/bye"}}, 201, `data-field="client_secret"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf_token", tok)
			st, body := boss.post(tc.path, tc.form)
			if st != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("POST %s: %d, want %d saying %q: %s", tc.path, st, tc.status, tc.says, body)
			}
		})
	}

	// The OpenID Connect client was registered with what the form said,
	// and its page shows it.
	cs, err := h.Clients.List(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name != "wiki" {
			continue
		}
		if c.IDTokenAlg != "ES256" || !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://wiki.example.com/", "https://wiki.example.com/bye"}) {
			t.Errorf("the OpenID Connect client: %q %q", c.IDTokenAlg, c.PostLogoutRedirectURIs)
		}
		if st, body := boss.get("/admin/applications/clients/" + c.ID); st != http.StatusOK || !strings.Contains(body, "ES256") ||
			!strings.Contains(body, "https://wiki.example.com/bye") {
			t.Errorf("the client's page: %d %s", st, body)
		}
	}

	// A user hands on only what they hold: Ada manages permissions but
	// holds no read on the audit log.
	ctx := context.Background()
	adaUser := signInConsole(t, h, "ada@example.com")
	st, body := adaUser.post("/admin/permissions", url.Values{"csrf_token": {adaUser.csrf()}, "principal": {"app:pusher"},
		"action": {"read"}, "resource": {"audit-log"}})
	if st != http.StatusForbidden || !strings.Contains(body, `role="alert"`) {
		t.Errorf("granting what Ada does not hold: %d: %s", st, body)
	}
	if ps, err := h.Admin.ListPermissions(ctx, "acme", "app:pusher"); err != nil || len(ps) != 0 {
		t.Errorf("app:pusher's permissions after the refused grant: %v %v", ps, err)
	}

	// The profile: a wrong current password changes nothing.
	st, body = adaUser.post("/profile/password", url.Values{"csrf_token": {adaUser.csrf()}, "current_password": {"wrong one"},
		"password": {"another long password"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="current_password-error"`) {
		t.Errorf("a wrong current password: %d", st)
	}
	// The right one changes it and keeps this browser signed in.
	st, _ = adaUser.post("/profile/password", url.Values{"csrf_token": {adaUser.csrf()}, "current_password": {servertest.Password},
		"password": {"another long password"}})
	if st != http.StatusSeeOther {
		t.Fatalf("changing the password: %d", st)
	}
	if st, _ := adaUser.get("/profile"); st != http.StatusOK {
		t.Errorf("the profile after changing the password: %d, want 200 in the new session", st)
	}
	// Name and email.
	if st, _ := adaUser.post("/profile/account", url.Values{"csrf_token": {adaUser.csrf()}, "name": {"Ada L."}, "email": {"ada@example.com"}}); st != http.StatusSeeOther {
		t.Errorf("saving the name: %d", st)
	}
	if got, _ := h.Admin.User(ctx, "acme", ada.ID); got.Name != "Ada L." {
		t.Errorf("the name after saving: %q", got.Name)
	}
}

// Groups named as identity providers name them, a "/" included, work
// through every group page of the console: its links escape the name as
// one path segment.
func TestConsoleGroupNamesAsProvidersSendThem(t *testing.T) {
	h := servertest.Start(t, servertest.WithTeams("acme"))
	h.User(t, "acme", admin.NewUser{Email: "admin@example.com", TeamAdmin: true})
	h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	h.SyncChanges(t)
	boss := signInConsole(t, h, "admin@example.com")
	for _, name := range []string{"Sales Team", "Ventes – Europe", "R&D / Paris", "営業部"} {
		t.Run(name, func(t *testing.T) {
			seg := url.PathEscape(name)
			attr := html.EscapeString(seg) // as the page writes it in an attribute
			if st, body := boss.post("/admin/groups", url.Values{"csrf_token": {boss.csrf()}, "name": {name}}); st != http.StatusSeeOther {
				t.Fatalf("create: %d %s", st, body)
			}
			st, body := boss.get("/admin/groups")
			if st != http.StatusOK || !strings.Contains(body, `href="/admin/groups/`+attr+`"`) {
				t.Errorf("the list does not link %q as one segment: %d", seg, st)
			}
			if st, body := boss.post("/admin/groups/"+seg+"/members", url.Values{"csrf_token": {boss.csrf()}, "email": {"ada@example.com"}}); st != http.StatusSeeOther {
				t.Fatalf("add a member: %d %s", st, body)
			}
			st, body = boss.get("/admin/groups/" + seg)
			if st != http.StatusOK || !strings.Contains(body, "ada@example.com") ||
				!strings.Contains(body, `action="/admin/groups/`+attr+`/members"`) || !strings.Contains(body, `href="/admin/groups/`+attr+`/delete"`) {
				t.Errorf("the group's page: %d", st)
			}
			if st, _ := boss.post("/admin/groups/"+seg+"/delete", url.Values{"csrf_token": {boss.csrf()}}); st != http.StatusSeeOther {
				t.Errorf("delete: %d", st)
			}
			if st, _ := boss.get("/admin/groups/" + seg); st != http.StatusNotFound {
				t.Errorf("the deleted group's page: %d, want 404", st)
			}
		})
	}
}
