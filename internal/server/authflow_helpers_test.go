package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// appRedirect is the redirect URI of the test's client application.
const appRedirect = "https://app.example/cb"

// flowEnv is a running server (liveEnv) with a client registered for the
// authorization code flow and a user who can sign in.
type flowEnv struct {
	*liveEnv
	dbPath   string
	app      creds
	user     store.User
	password string
}

// startFlowEnv runs a server on a SQLite file the test may open again, as
// another process would.
func startFlowEnv(t *testing.T, tweak ...func(*config.Config)) *flowEnv {
	t.Helper()
	var opts []servertest.Option
	for _, f := range tweak {
		opts = append(opts, servertest.WithConfig(f))
	}
	return flowEnvOn(t, servertest.Start(t, opts...))
}

// flowEnvOn is startFlowEnv on a server already started.
func flowEnvOn(t *testing.T, h *servertest.Server) *flowEnv {
	t.Helper()
	e := &flowEnv{liveEnv: liveOf(h), dbPath: h.DBPath}
	e.app = e.codeClient(t, "acme", "Reporting App", client.AuthSecretBasic, []string{appRedirect},
		"audit.log:read", "team.user-group-info:read", "team.login-history:read")
	e.user, e.password = e.newUser(t, "acme", "ann@example.com")
	return e
}

// codeClient registers a client for the authorization code flow.
func (e *oauthEnv) codeClient(t *testing.T, team, name, method string, redirects []string, scopes ...string) creds {
	t.Helper()
	c, sec, err := e.clients.Create(context.Background(), kernel.CLI, team, client.NewClient{
		Name: name, GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: method,
		Scopes: scopes, RedirectURIs: redirects})
	if err != nil {
		t.Fatal(err)
	}
	return creds{c, sec.Reveal()}
}

// newUser creates a user of team and returns it with its password.
func (e *oauthEnv) newUser(t *testing.T, team, email string) (store.User, string) {
	t.Helper()
	return e.h.User(t, team, admin.NewUser{Email: email, Name: "Ann Example"}), servertest.Password
}

// browser is a user agent with a cookie jar that follows redirects on the
// test's team hosts and stops at any other host (the client's redirect
// URI), leaving that redirect as the answer.
type browser struct{ hc *http.Client }

func (e *oauthEnv) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{hc: &http.Client{Transport: e.http.Transport, Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.HasSuffix(req.URL.Hostname(), "."+servertest.Domain) {
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		}}}
}

// page is an answer to a browser.
type page struct {
	status int
	url    *url.URL // of the request that got this answer
	header http.Header
	body   string
}

// location is the Location of a redirect the browser did not follow.
func (p page) location(t *testing.T) *url.URL {
	t.Helper()
	loc := p.header.Get("Location")
	if p.status < 300 || p.status > 399 || loc == "" {
		t.Fatalf("not a redirect: %d %s\n%s", p.status, p.url, p.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) do(t *testing.T, method, rawURL string, form url.Values, hdr map[string]string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(raw)}
}

func (b *browser) get(t *testing.T, rawURL string) page {
	t.Helper()
	return b.do(t, "GET", rawURL, nil, nil)
}

func (b *browser) post(t *testing.T, rawURL string, form url.Values) page {
	t.Helper()
	return b.do(t, "POST", rawURL, form, nil)
}

var (
	formRE  = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// formFields returns the hidden fields of the page's form that posts to
// action, failing the test when there is none.
func formFields(t *testing.T, p page, action string) url.Values {
	t.Helper()
	for _, f := range formRE.FindAllStringSubmatch(p.body, -1) {
		if html.UnescapeString(f[1]) != action {
			continue
		}
		v := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(f[2], -1) {
			v.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return v
	}
	t.Fatalf("no form posting to %s on %s (%d):\n%s", action, p.url, p.status, p.body)
	return nil
}

// signIn expects p to be the sign-in page, fills it in and sends it.
func (b *browser) signIn(t *testing.T, p page, email, password string) page {
	t.Helper()
	if p.url.Path != "/login" || p.status != http.StatusOK {
		t.Fatalf("want the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	f := formFields(t, p, "/login")
	f.Set("email", email)
	f.Set("password", password)
	return b.post(t, "http://"+p.url.Host+"/login", f)
}

// signedIn is a browser signed in as the env's user at acme.
func (e *flowEnv) signedIn(t *testing.T) *browser {
	t.Helper()
	b := e.browser(t)
	p := b.signIn(t, b.get(t, teamURL("acme", "/login")), e.user.Email, e.password)
	if p.url.Path != "/profile" || p.status != http.StatusOK {
		t.Fatalf("sign-in: %d %s:\n%s", p.status, p.url, p.body)
	}
	return b
}

// pkce returns a fresh code verifier and its S256 challenge.
func pkce(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b, err := secret.Generator{}.Bytes(32)
	if err != nil {
		t.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is an authorization request of client with the given
// parameters; an empty value leaves a parameter out.
func authorizeURL(team string, params map[string]string) string {
	v := url.Values{}
	for k, val := range params {
		if val != "" {
			v.Set(k, val)
		}
	}
	return teamURL(team, "/oauth2/authorize?"+v.Encode())
}

// codeParams are the parameters of a good request of c for scope.
func codeParams(c creds, scope, state, challenge string) map[string]string {
	return map[string]string{"response_type": "code", "client_id": c.ID, "redirect_uri": appRedirect,
		"scope": scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
}

// approve follows an authorization request with a signed-in browser:
// through the consent page if one is shown (approving it), to the
// client's redirect URI, whose parameters it returns.
func (b *browser) approve(t *testing.T, authURL string) url.Values {
	t.Helper()
	p := b.get(t, authURL)
	if p.status == http.StatusOK && strings.Contains(p.body, `action="/oauth2/authorize"`) {
		f := formFields(t, p, "/oauth2/authorize")
		f.Set("decision", "approve")
		p = b.post(t, "http://"+p.url.Host+"/oauth2/authorize", f)
	}
	return redirected(t, p)
}

// redirected checks that p sends the browser to the client's redirect URI
// and returns the parameters it carries.
func redirected(t *testing.T, p page) url.Values {
	t.Helper()
	loc := p.location(t)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != appRedirect {
		t.Fatalf("redirected to %s, want %s", loc, appRedirect)
	}
	return loc.Query()
}

// code gets an authorization code of the env's app for scope, with the
// browser b signed in.
func (e *flowEnv) code(t *testing.T, b *browser, scope string) (code, verifier string) {
	t.Helper()
	verifier, challenge := pkce(t)
	q := b.approve(t, authorizeURL("acme", codeParams(e.app, scope, "s", challenge)))
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code"), verifier
}

// exchange redeems a code at the token endpoint as client c.
func (e *oauthEnv) exchange(t *testing.T, c creds, code, redirect, verifier string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirect != "" {
		form.Set("redirect_uri", redirect)
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	f, h := authenticated(c, form)
	return send(t, e.http, "POST", teamURL("acme", "/oauth2/token"), f, h)
}

// refresh asks for a new access token with a refresh token.
func (e *oauthEnv) refresh(t *testing.T, c creds, refreshToken, scope string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if scope != "" {
		form.Set("scope", scope)
	}
	f, h := authenticated(c, form)
	return send(t, e.http, "POST", teamURL("acme", "/oauth2/token"), f, h)
}

// tokens gets an access and a refresh token for the env's user and app.
func (e *flowEnv) tokens(t *testing.T, b *browser, scope string) (access, refresh string) {
	t.Helper()
	code, verifier := e.code(t, b, scope)
	r := e.exchange(t, e.app, code, appRedirect, verifier)
	access, _ = r.body["access_token"].(string)
	refresh, _ = r.body["refresh_token"].(string)
	if r.status != http.StatusOK || access == "" || refresh == "" {
		t.Fatalf("exchange: %d %s", r.status, r.raw)
	}
	return access, refresh
}

// wantGrantError checks an OAuth error answer of the token endpoint.
func wantOAuthError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	checkNoStore(t, r.header)
}

// auditLog returns the team's audit events of action, waiting up to 2 s
// for the batcher to write at least one.
func (e *oauthEnv) auditEvents(t *testing.T, team, action string) []store.AuditEvent {
	t.Helper()
	var got []store.AuditEvent
	poll.Until(2*time.Second, func() bool {
		evs, _, err := e.st.ListAudit(context.Background(), team, store.AuditFilter{Action: action}, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got = evs
		return len(evs) > 0
	})
	return got
}

// sendMultipart posts form as multipart/form-data, as the Celonis guide's curl does.
func sendMultipart(t *testing.T, hc *http.Client, rawURL string, form map[string]string) reply {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range form {
		mw.WriteField(k, v)
	}
	mw.Close()
	req, err := http.NewRequest("POST", rawURL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// otherConsents is the consent service of another process with its own
// store handle, such as the CLI, on the same clock as the server.
func otherConsents(t *testing.T, st store.Store, now func() time.Time) *consent.Service {
	t.Helper()
	return &consent.Service{Store: st, Denylist: denylist.New(st, now, nil), Now: now}
}

var otherActor = kernel.Actor{ID: "cli"}
