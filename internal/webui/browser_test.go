package webui_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/required"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// The web console in a real browser: Debian's chromium, driven through the
// DevTools protocol (chromedp), against a real server. Every page it
// visits is checked by axe-core in light and in dark mode; with
// -screenshots, a screenshot of each page is written to docs/screenshots.

var screenshots = flag.Bool("screenshots", false, "write a screenshot of every page the browser tests visit to docs/screenshots")

// screenshotDir is where -screenshots writes, from this package's directory.
const screenshotDir = "../../docs/screenshots"

// axeDir holds package.json and package-lock.json of axe-core.
const axeDir = "testdata/axe"

// chromiumPath finds Debian's chromium, or skips the test: under CI=true it
// fails instead (.ci/run installs it with scripts/chromium.sh).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	required.Missing(t, "chromium is not installed: scripts/chromium.sh installs it")
	return ""
}

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// axe returns axe-core's script, installing it from the lockfile with npm
// ci when it is missing; under CI=true a failure fails the test, else it
// skips it.
func axe(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		path := filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(path); err != nil {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
			cmd.Dir = axeDir
			if out, err := cmd.CombinedOutput(); err != nil {
				axeErr = fmt.Errorf("npm ci in %s: %v: %s", axeDir, err, out)
				return
			}
		}
		b, err := os.ReadFile(path)
		axeSource, axeErr = string(b), err
	})
	if axeErr != nil {
		required.Missing(t, "axe-core is not installed: %v (scripts/axe.sh installs it)", axeErr)
	}
	return axeSource
}

// The browser tests serve the teams at <team>.localhost: a browser takes
// http://*.localhost for a secure context (as the README's --dev server
// is), so it sends Sec-Fetch-Site, which the forms' cross-origin check
// reads; pages under http on another domain send Origin: null instead
// (their Referrer-Policy is no-referrer), which it refuses.
const domain = "localhost"

// pageURL is path on team acme.
func pageURL(path string) string { return "http://acme." + domain + path }

// browser is a chromium that reaches every host of the test server: it
// uses the server as its HTTP proxy (loopback names included), so the
// pages have their real URLs (http://acme.localhost/...), origins and
// cookies.
type browser struct {
	t     *testing.T
	srv   *servertest.Server
	ctx   context.Context
	axe   string
	pages map[string]bool // names checked and shot
}

func newBrowser(t *testing.T, srv *servertest.Server) *browser {
	t.Helper()
	exe := chromiumPath(t)
	src := axe(t)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.ProxyServer("http://"+srv.Addr), chromedp.Flag("proxy-bypass-list", "<-loopback>"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, srv: srv, ctx: ctx, axe: src, pages: map[string]bool{}}
}

// do runs steps within a minute.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
		b.t.Fatalf("browser at %s: %v\npage: %s", loc, err, body)
	}
}

// open navigates to path on team acme and answers the status.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(pageURL(path)))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// mustOpen opens path and wants 200.
func (b *browser) mustOpen(path string) {
	b.t.Helper()
	if st := b.open(path); st != http.StatusOK {
		body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
		b.t.Fatalf("GET %s: %d: %s", path, st, body)
	}
}

// text reads an element's text.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// violation is an axe-core finding.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// check runs axe-core on the page in light and in dark mode and fails the
// test for any serious or critical violation; with -screenshots it writes
// the page (light) to docs/screenshots/<name>.png.
func (b *browser) check(name string) {
	b.t.Helper()
	b.pages[name] = true
	for _, scheme := range []string{"dark", "light"} {
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		cancel()
		if err != nil {
			b.t.Fatalf("emulate %s: %v", scheme, err)
		}
		if !eval[bool](b, "typeof axe !== 'undefined'") {
			eval[any](b, b.axe+";true")
		}
		vs := eval[[]violation](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`)
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				b.t.Errorf("page %s (%s mode): axe %s (%s): %s at %v", name, scheme, v.ID, v.Impact, v.Help, v.Nodes)
			}
		}
	}
	if *screenshots {
		b.shoot(name)
	}
}

// selfCheck shows that check can fail: a field without a label, added to
// the page, is a critical violation that axe-core reports.
func (b *browser) selfCheck() {
	b.t.Helper()
	eval[bool](b, `document.querySelector("main").insertAdjacentHTML("beforeend", "<input type=text>"), true`)
	if !eval[bool](b, "typeof axe !== 'undefined'") {
		eval[any](b, b.axe+";true")
	}
	n := eval[int](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.id === "label" && v.impact === "critical").length)`)
	if n != 1 {
		b.t.Fatalf("axe-core does not report a field without a label (%d findings): the check cannot fail", n)
	}
}

// shoot writes a screenshot of the whole page.
func (b *browser) shoot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// dark switches the page to dark mode (for a screenshot).
func (b *browser) dark(on bool) {
	b.t.Helper()
	v := "light"
	if on {
		v = "dark"
	}
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in on /login.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.mustOpen("/login")
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), servertest.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#clients-heading")))
}

// signOut signs out with the header's button.
func (b *browser) signOut() {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
}

// submit clicks the submit button of the form whose action is action and
// waits for sel on the page that follows.
func (b *browser) submit(action, sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`form[method="post"][action="`+action+`"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// secret reads the values of a one-time secret page, and checks that its
// copy buttons are shown (the console's script ran under the page's CSP).
func (b *browser) secret(fields ...string) map[string]string {
	b.t.Helper()
	out := map[string]string{}
	for _, f := range fields {
		out[f] = b.text(`[data-field="` + f + `"]`)
		if out[f] == "" {
			b.t.Fatalf("the secret page shows no %s", f)
		}
		if !eval[bool](b, `!document.querySelector('button[data-copy="value-`+f+`"]').hidden`) {
			b.t.Errorf("the copy button of %s is hidden: the console's script did not run", f)
		}
	}
	return out
}

// token gets a client_credentials token.
func token(t *testing.T, srv *servertest.Server, id, secret string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", pageURL("/oauth2/token"), strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := srv.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// tokenStatus asks for a client_credentials token with HTTP Basic.
func tokenStatus(t *testing.T, srv *servertest.Server, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", pageURL("/oauth2/token"), strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := srv.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// call GETs path of team acme with the Authorization header auth.
func call(t *testing.T, srv *servertest.Server, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", pageURL(path), nil)
	req.Header.Set("Authorization", auth)
	resp, err := srv.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConsoleInBrowser(t *testing.T) {
	srv := servertest.Start(t, servertest.WithWallClock(), servertest.WithTeams("acme"),
		servertest.WithConfig(func(c *config.Config) { c.Domain = domain }))
	ctx := context.Background()
	boss := srv.User(t, "acme", admin.NewUser{Email: "admin@example.com", Name: "Ada Admin", TeamAdmin: true})
	bob := srv.User(t, "acme", admin.NewUser{Email: "bob@example.com", Name: "Bob"})
	carol := srv.User(t, "acme", admin.NewUser{Email: "carol@example.com", Name: "Carol"})
	srv.Grant(t, "acme", "user:carol@example.com", "read", "clients")
	// An ETL user whose key the admin migrates: it may read the audit log.
	srv.User(t, "acme", admin.NewUser{Email: "etl@example.com", Name: "ETL"})
	srv.Grant(t, "acme", "user:etl@example.com", "read", "audit-log")
	etlKey, etlRaw := srv.StaticKey(t, "acme", statickey.KindUser, "etl@example.com")
	srv.Group(t, "acme", "auditors", "bob@example.com")
	// Bob consented to a reporting client.
	reports, _ := srv.Client(t, "acme", client.NewClient{Name: "reports", GrantTypes: []string{client.GrantAuthorizationCode},
		Scopes: []string{"audit.log:read"}, RedirectURIs: []string{"https://reports.example.com/callback"}})
	if err := srv.Services().Consents.Approve(ctx, kernel.CLI, "acme", bob.ID, reports.ID, []string{"audit.log:read"}); err != nil {
		t.Fatal(err)
	}
	srv.SyncChanges(t)
	_ = boss
	_ = carol

	b := newBrowser(t, srv)

	// A team admin signs in and registers a client with the Celonis
	// guide's choices; the secret page shows it once, and it gets a token.
	b.signIn("admin@example.com")
	if got := b.text("nav.sections"); !strings.Contains(got, "Applications") || !strings.Contains(got, "Settings") {
		t.Errorf("the team admin's navigation is %q: want every section", got)
	}
	b.check("profile-admin")
	b.mustOpen("/admin/applications/new")
	b.check("client-register")
	b.do(chromedp.SendKeys(chromedp.CSS("#name"), "etl-export"),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value="audit.log:read"]`)))
	b.submit("/admin/applications/new", `[data-field="client_secret"]`)
	b.check("client-secret")
	created := b.secret("client_id", "client_secret")
	if st := tokenStatus(t, srv, created["client_id"], created["client_secret"]); st != http.StatusOK {
		t.Fatalf("a token with the secret the page showed: %d", st)
	}
	// Once shown, never again: the client's page does not hold it.
	b.mustOpen("/admin/applications/clients/" + created["client_id"])
	b.check("client")
	if html := eval[string](b, "document.documentElement.outerHTML"); strings.Contains(html, created["client_secret"]) {
		t.Error("the client's page shows its secret")
	}
	b.mustOpen("/admin/applications")
	b.check("clients")
	if got := b.text("main table"); !strings.Contains(got, "etl-export") || !strings.Contains(got, "reports") {
		t.Errorf("the clients list is %q", got)
	}
	b.mustOpen("/admin/applications?q=etl")
	if got := b.text("main table"); strings.Contains(got, "reports") {
		t.Errorf("the search q=etl lists %q", got)
	}

	// Regenerate with a grace period: the old secret keeps working.
	b.mustOpen("/admin/applications/clients/" + created["client_id"] + "/secret")
	b.check("client-regenerate")
	b.do(chromedp.SetValue(chromedp.CSS("#grace"), "24h"))
	b.submit("/admin/applications/clients/"+created["client_id"]+"/secret", `[data-field="client_secret"]`)
	rotated := b.secret("client_id", "client_secret")
	if rotated["client_secret"] == created["client_secret"] || rotated["client_id"] != created["client_id"] {
		t.Fatalf("the rotation shows %v", rotated)
	}
	for _, sec := range []string{rotated["client_secret"], created["client_secret"]} {
		if st := tokenStatus(t, srv, created["client_id"], sec); st != http.StatusOK {
			t.Errorf("a token with a secret in its grace or the new one: %d", st)
		}
	}

	// An application with an AppKey, and a permission granted to it.
	b.mustOpen("/admin/applications/apps")
	b.check("apps")
	b.do(chromedp.SendKeys(chromedp.CSS("#name"), "pusher"))
	b.submit("/admin/applications/apps", `form[action="/admin/applications/apps/pusher/keys"]`)
	b.check("app")
	b.submit("/admin/applications/apps/pusher/keys", `[data-field="key"]`)
	appKey := b.secret("key")["key"]
	if st, _ := call(t, srv, "/api/team/audit-log", "AppKey "+appKey); st != http.StatusForbidden {
		t.Errorf("the AppKey before its permission: %d, want 403", st)
	}
	b.mustOpen("/admin/permissions")
	b.check("permissions")
	b.do(chromedp.SendKeys(chromedp.CSS("#principal"), "app:pusher"), chromedp.SendKeys(chromedp.CSS("#action"), "read"),
		chromedp.SendKeys(chromedp.CSS("#resource"), "audit-log"))
	b.submit("/admin/permissions", ".notice")
	srv.SyncChanges(t)
	if st, body := call(t, srv, "/api/team/audit-log", "AppKey "+appKey); st != http.StatusOK {
		t.Errorf("the AppKey with its permission: %d %s", st, body)
	}

	// Migrate a static key in one step: the new client reaches what the
	// key reached.
	b.mustOpen("/admin/static-keys")
	b.check("static-keys")
	b.do(chromedp.Click(chromedp.CSS(`a[href="/admin/static-keys/`+etlKey.ID+`/migrate"]`)), chromedp.WaitVisible(chromedp.CSS("#migrate-text")))
	b.check("static-key-migrate")
	b.submit("/admin/static-keys/"+etlKey.ID+"/migrate", `[data-field="client_secret"]`)
	migrated := b.secret("client_id", "client_secret")
	srv.SyncChanges(t)
	tok := token(t, srv, migrated["client_id"], migrated["client_secret"])
	if st, body := call(t, srv, "/api/team/audit-log", "Bearer "+tok); st != http.StatusOK {
		t.Errorf("the migrated client's token: %d %s", st, body)
	}
	if st, _ := call(t, srv, "/api/team/audit-log", "Bearer "+etlRaw); st != http.StatusOK {
		t.Errorf("the migrated key until it is deleted: %d", st)
	}

	// Every other page of the console, checked and shot.
	for _, p := range []struct{ name, path string }{
		{"users", "/admin/users"}, {"user", "/admin/users/" + bob.ID}, {"groups", "/admin/groups"}, {"group", "/admin/groups/auditors"},
		{"audit-log", "/admin/audit-log"}, {"login-history", "/admin/login-history"}, {"settings", "/admin/settings"},
		{"client-delete", "/admin/applications/clients/" + reports.ID + "/delete"},
		{"permission-revoke", "/admin/permissions/revoke?principal=app%3Apusher&action=read&resource=audit-log"},
	} {
		b.mustOpen(p.path)
		b.check(p.name)
	}
	if *screenshots {
		b.mustOpen("/admin/applications")
		b.dark(true)
		b.shoot("clients-dark")
		b.dark(false)
	}
	// The audit log's filter: the client registered above, by its action.
	b.mustOpen("/admin/audit-log?action=client.create&actor=user%3Aadmin%40example.com")
	if got := b.text("main table"); !strings.Contains(got, "client.create") || strings.Contains(got, "permission.grant") {
		t.Errorf("the audit log filtered by action lists %q", got)
	}
	b.mustOpen("/admin/login-history?result=success&user=admin%40example.com")
	if got := b.text("main table"); !strings.Contains(got, "admin@example.com") || strings.Contains(got, "failure") {
		t.Errorf("the login history filtered lists %q", got)
	}
	b.signOut()
	b.check("login")
	b.selfCheck()

	// A user: no console section; a personal API key made (shown once)
	// and a consent revoked on the profile.
	b.signIn("bob@example.com")
	if n := eval[int](b, "document.querySelectorAll('nav.sections').length"); n != 0 {
		t.Errorf("a user without permissions sees the console's navigation")
	}
	b.check("profile")
	b.submit("/profile/keys", `[data-field="key"]`)
	b.check("profile-key")
	ownKey := b.secret("key")["key"]
	if st, body := call(t, srv, "/api/profile", "Bearer "+ownKey); st != http.StatusOK || !strings.Contains(body, "bob@example.com") {
		t.Errorf("the personal API key: %d %s", st, body)
	}
	b.mustOpen("/profile")
	b.do(chromedp.Click(chromedp.CSS(`form[action="/profile/consents/`+reports.ID+`/revoke"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if cs, err := srv.Services().Consents.List(ctx, "acme", bob.ID); err != nil || len(cs) != 0 {
		t.Errorf("bob's consents after the revocation: %v, %v", cs, err)
	}

	// Every page of the console is 403 to him.
	for _, path := range adminPages(t, srv, map[string]string{"client_id": created["client_id"], "name": "pusher",
		"id": bob.ID, "email": "bob@example.com"}) {
		if st := b.open(path); st != http.StatusForbidden {
			t.Errorf("GET %s as a user without permissions: %d, want 403", path, st)
		}
	}
	b.check("forbidden")
	b.signOut()

	// A user who may read the clients sees that section alone, read-only.
	b.signIn("carol@example.com")
	if got := b.text("nav.sections"); got != "Applications" {
		t.Errorf("carol's navigation is %q, want Applications alone", got)
	}
	b.mustOpen("/admin/applications")
	if n := eval[int](b, `document.querySelectorAll('a[href="/admin/applications/new"]').length`); n != 0 {
		t.Error("a reader of the clients is offered to register one")
	}
	if st := b.open("/admin/applications/new"); st != http.StatusForbidden {
		t.Errorf("the registration form to a reader: %d, want 403", st)
	}
	if st := b.open("/admin/users"); st != http.StatusForbidden {
		t.Errorf("/admin/users to a reader of clients: %d, want 403", st)
	}
}

// adminPages lists every GET page under /admin the server serves, each
// path value filled from vals.
func adminPages(t *testing.T, srv *servertest.Server, vals map[string]string) []string {
	var out []string
	for _, p := range srv.Patterns() {
		path, ok := strings.CutPrefix(p, "GET ")
		if !ok || !strings.HasPrefix(path, "/admin") {
			continue
		}
		path = strings.TrimSuffix(path, "{$}")
		for k, v := range vals {
			path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
		}
		if strings.Contains(path, "{") {
			t.Fatalf("no value for a path value of %s", p)
		}
		out = append(out, path)
	}
	if len(out) < 10 {
		t.Fatalf("the server serves %d console pages: %v", len(out), out)
	}
	return out
}
