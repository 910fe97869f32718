package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// copiedCookie is a session cookie taken out of a browser, as an attacker
// who read it (a shared computer, a leaked HAR file, malware) holds it:
// it is sent by hand, with no jar and no redirect followed.
type copiedCookie struct {
	hc     *http.Client
	cookie string // "name=value"
	app    creds  // the client whose authorization requests it makes
}

// copyCookie copies b's session cookie for acme, to be sent through hc in
// authorization requests of app.
func copyCookie(t *testing.T, b *browser, hc *http.Client, app creds) copiedCookie {
	t.Helper()
	u, err := url.Parse(teamURL("acme", "/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == "gatehouse_session" {
			return copiedCookie{hc: &http.Client{Transport: hc.Transport, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
				cookie: c.Name + "=" + c.Value, app: app}
		}
	}
	t.Fatal("the browser holds no session cookie")
	return copiedCookie{}
}

func (c copiedCookie) get(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", c.cookie)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// profileLoads tells whether the copied cookie loads /profile (200) rather
// than being sent to sign in.
func (c copiedCookie) profileLoads(t *testing.T) bool {
	t.Helper()
	status, loc := c.get(t, teamURL("acme", "/profile"))
	switch {
	case status == http.StatusOK:
		return true
	case status == http.StatusFound && strings.HasPrefix(loc, "/login"):
		return false
	}
	t.Fatalf("/profile with a copied cookie: %d Location %q", status, loc)
	return false
}

// mintsCode tells whether the copied cookie gets an authorization code
// for its app, whose consent the user has given.
func (c copiedCookie) mintsCode(t *testing.T) (code, verifier string, ok bool) {
	t.Helper()
	verifier, challenge := pkce(t)
	status, loc := c.get(t, authorizeURL("acme", codeParams(c.app, "audit.log:read", "s", challenge)))
	if status != http.StatusFound {
		t.Fatalf("authorize with a copied cookie: %d", status)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(loc, "/login") {
		return "", "", false
	}
	if u.Scheme+"://"+u.Host+u.Path != appRedirect || u.Query().Get("code") == "" {
		t.Fatalf("authorize with a copied cookie went to %s", loc)
	}
	return u.Query().Get("code"), verifier, true
}

// sessionEnv is a flow env whose user has consented to the app, with a
// browser signed in and a copy of its session cookie that works: it loads
// the profile, mints a code, and the code is redeemed for tokens.
func sessionEnv(t *testing.T) (*flowEnv, *browser, copiedCookie) {
	t.Helper()
	e := startFlowEnv(t)
	b := e.signedIn(t)
	e.tokens(t, b, "audit.log:read") // the consent
	c := copyCookie(t, b, e.http, e.app)
	if !c.profileLoads(t) {
		t.Fatal("the copied cookie does not load /profile while the session lives")
	}
	code, verifier, ok := c.mintsCode(t)
	if !ok {
		t.Fatal("the copied cookie mints no code while the session lives")
	}
	if r := e.exchange(t, e.app, code, appRedirect, verifier); r.status != http.StatusOK {
		t.Fatalf("the copied cookie's code: %d %s", r.status, r.raw)
	}
	return e, b, c
}

// wantEnded checks that the copied cookie neither loads the profile nor
// mints a code.
func wantEnded(t *testing.T, c copiedCookie, after string) {
	t.Helper()
	if c.profileLoads(t) {
		t.Errorf("a copied session cookie still loads /profile after %s", after)
	}
	if _, _, ok := c.mintsCode(t); ok {
		t.Errorf("a copied session cookie still mints codes after %s", after)
	}
}

// Signing out ends the session on the server: a copy of its cookie made
// before no longer loads /profile nor mints codes. (Before, sessions were
// sealed cookies that nothing stored, and a copy lived until it expired.)
func TestSessionEndsAtSignOut(t *testing.T) {
	e, b, c := sessionEnv(t)
	logout := formFields(t, b.get(t, teamURL("acme", "/profile")), "/logout")
	if p := b.post(t, teamURL("acme", "/logout"), logout); p.url.Path != "/login" {
		t.Fatalf("sign-out: %d %s", p.status, p.url)
	}
	wantEnded(t, c, "sign-out")
	// Another session of the same user is another matter: it lives on.
	other := e.signedIn(t)
	if p := other.get(t, teamURL("acme", "/profile")); p.url.Path != "/profile" {
		t.Errorf("a new session after the sign-out: %s", p.url)
	}
}

// A new password (gatehouse admin user set-password) ends every session of
// the user, in the transaction that sets it.
func TestSessionEndsAtPasswordChange(t *testing.T) {
	e, _, c := sessionEnv(t)
	if err := e.h.Admin.SetPassword(context.Background(), kernel.CLI, "acme", e.user.Email, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, c, "a password change")
}

// Disabling the user ends every session, and enabling them again brings
// none back: the cookie copied before stays refused. (Before, a disabled
// user's cookie was refused only while the user stayed disabled.)
func TestSessionEndsWhenUserDisabled(t *testing.T) {
	e, _, c := sessionEnv(t)
	ctx := context.Background()
	if err := e.h.Admin.SetDisabled(ctx, kernel.CLI, "acme", e.user.Email, true); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, c, "disabling the user")
	if err := e.h.Admin.SetDisabled(ctx, kernel.CLI, "acme", e.user.Email, false); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, c, "disabling and enabling the user again")
}

// "Sign out everywhere" on the profile ends every session of the user,
// the one that asked too, and no other user's.
func TestSignOutEverywhere(t *testing.T) {
	e, b, c := sessionEnv(t)
	second := e.signedIn(t)
	bob, bobPassword := e.newUser(t, "acme", "bob@example.com")
	bobBrowser := e.browser(t)
	bobBrowser.signIn(t, bobBrowser.get(t, teamURL("acme", "/login")), bob.Email, bobPassword)

	profile := b.get(t, teamURL("acme", "/profile"))
	i := strings.Index(profile.body, `id="sessions-heading"`)
	if i < 0 || strings.Count(profile.body[i:], `<th scope="row">`) != 2 || strings.Count(profile.body, "(this browser)") != 1 {
		t.Errorf("the profile does not list the user's two sessions, this one marked:\n%s", profile.body)
	}
	form := formFields(t, profile, "/profile/sessions/revoke")
	if p := b.post(t, teamURL("acme", "/profile/sessions/revoke"), form); p.url.Path != "/login" {
		t.Fatalf("sign out everywhere: %d %s", p.status, p.url)
	}
	wantEnded(t, c, "signing out everywhere")
	for name, br := range map[string]*browser{"the browser that asked": b, "another browser": second} {
		if p := br.get(t, teamURL("acme", "/profile")); p.url.Path != "/login" {
			t.Errorf("%s after signing out everywhere: %s", name, p.url)
		}
	}
	if p := bobBrowser.get(t, teamURL("acme", "/profile")); p.url.Path != "/profile" {
		t.Errorf("another user's session after signing out everywhere: %s", p.url)
	}
	if evs := e.auditEvents(t, "acme", "logout.everywhere"); len(evs) != 1 || evs[0].Actor != "user:"+e.user.Email {
		t.Errorf("logout.everywhere events: %+v", evs)
	}
}

// Two nodes on one PostgreSQL database: a session started on one works on
// the other, and ending it on either (sign-out, sign out everywhere, an
// administrator's sign-out) ends it on the other within a second.
func TestSessionEndsOnEveryNode(t *testing.T) {
	dbURL := pgtest.URL(t)
	n1 := servertest.Start(t, servertest.WithPostgresURL(dbURL), servertest.WithConfig(patientDatabase))
	n2 := servertest.Start(t, servertest.WithPostgresURL(dbURL), servertest.WithTeams(), servertest.WithConfig(patientDatabase))
	e := flowEnvOn(t, n1)
	e2 := liveOf(n2)

	// A browser signed in on node 1, its consent given, its cookie copied
	// for node 2.
	start := func() (*browser, copiedCookie) {
		t.Helper()
		b := e.signedIn(t)
		e.code(t, b, "audit.log:read")
		c := copyCookie(t, b, n2.HTTP, e.app)
		if !c.profileLoads(t) {
			t.Fatal("a session of node 1 does not load /profile on node 2")
		}
		if _, _, ok := c.mintsCode(t); !ok {
			t.Fatal("a session of node 1 mints no code on node 2")
		}
		return b, c
	}
	endedWithin := func(c copiedCookie, after string) {
		t.Helper()
		began := time.Now()
		if _, ok := poll.Until(time.Second, func() bool { return !c.profileLoads(t) }); !ok {
			t.Fatalf("node 2 still serves the session 1 s after %s on node 1", after)
		}
		t.Logf("node 2 refused the session %v after %s", time.Since(began).Round(time.Millisecond), after)
		wantEnded(t, c, after)
	}

	b, c := start()
	logout := formFields(t, b.get(t, teamURL("acme", "/profile")), "/logout")
	b.post(t, teamURL("acme", "/logout"), logout)
	endedWithin(c, "sign-out")

	b, c = start()
	form := formFields(t, b.get(t, teamURL("acme", "/profile")), "/profile/sessions/revoke")
	b.post(t, teamURL("acme", "/profile/sessions/revoke"), form)
	endedWithin(c, "signing out everywhere")

	_, c = start()
	if _, err := n1.Admin.EndSessions(context.Background(), kernel.CLI, "acme", e.user.Email); err != nil {
		t.Fatal(err)
	}
	endedWithin(c, "an administrator's sign-out")

	// And the other way round: ended on node 2, refused by node 1.
	b2 := e2.browser(t)
	b2.signIn(t, b2.get(t, teamURL("acme", "/login")), e.user.Email, e.password)
	c1 := copyCookie(t, b2, n1.HTTP, e.app)
	if !c1.profileLoads(t) {
		t.Fatal("a session of node 2 does not load /profile on node 1")
	}
	b2.post(t, teamURL("acme", "/logout"), formFields(t, b2.get(t, teamURL("acme", "/profile")), "/logout"))
	if _, ok := poll.Until(time.Second, func() bool { return !c1.profileLoads(t) }); !ok {
		t.Fatal("node 1 still serves the session 1 s after sign-out on node 2")
	}
}
