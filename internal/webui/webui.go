// Package webui is the web UI on a team's host: the pages people see.
// It serves sign-in (/login, /logout), the authorization endpoint of the
// authorization code flow with its consent page (/oauth2/authorize, RFC
// 6749 section 4.1, RFC 7636, RFC 9700) and OpenID Connect's demands on
// it (prompt, max_age, login_hint, id_token_hint), RP-initiated logout
// (/oauth2/logout), and the profile page where users manage the clients
// they consented to (/profile, and the same as JSON at
// /api/profile/consents).
//
// Pages are server-rendered from html/template files embedded in the
// binary; every page extends one layout (templates/base.html) that names
// the team, and later pages of the web UI extend it too. No page loads
// anything from elsewhere: the one stylesheet is inline and allowed by its
// hash in the Content-Security-Policy.
//
// Sessions live in the store (internal/session); the browser holds the
// session's ID in a cookie sealed with the master key (AES-256-GCM) and
// bound to the team, named __Host-gatehouse_session under https. Signing
// out ends the session itself, so a copy of the cookie ends with it. Every
// form carries a CSRF token, and every unsafe request also passes net/http's
// CrossOriginProtection.
package webui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

//go:embed templates
var templateFS embed.FS

// funcs are the templates' own functions: segment escapes a name for one
// segment of a path ("/" included, which a group's name may hold; the
// template's own URL escaping leaves it).
var funcs = template.FuncMap{"segment": url.PathEscape}

// pages are the templates, each parsed with the base layout: the
// sign-in, consent, profile and logout pages, and the console's
// (console.go).
var pageNames = append([]string{"login", "consent", "profile", "message", "logout"}, consolePages...)

// Clients reads registered clients (client.Service is one, from a cache).
type Clients interface {
	Client(ctx context.Context, team, id string) (store.Client, error)
}

// Users finds the users who sign in and records their attempts (the store
// is one).
type Users interface {
	User(ctx context.Context, team, id string) (store.User, error)
	UserByEmail(ctx context.Context, team, email string) (store.User, error)
	AppendLogin(ctx context.Context, e store.LoginEvent) error
}

// Consents issues authorization codes and keeps users' consents
// (consent.Service is one).
type Consents interface {
	Remembered(ctx context.Context, team, userID, clientID string, scopes []string) (bool, error)
	Approve(ctx context.Context, a kernel.Actor, team, userID, clientID string, scopes []string) error
	IssueCode(ctx context.Context, team, userID string, authTime time.Time, req consent.Request) (secret.Secret, error)
	List(ctx context.Context, team, userID string) ([]store.Consent, error)
	Revoke(ctx context.Context, a kernel.Actor, team, userID, clientID string) error
}

// Sessions keeps the sign-in sessions (session.Service is one). Live
// answers an error wrapping store.ErrNotFound for an ID that names no live
// session.
type Sessions interface {
	Start(ctx context.Context, team, userID, ip, userAgent string) (secret.Secret, store.Session, error)
	Live(ctx context.Context, team, id string) (store.Session, error)
	End(ctx context.Context, team, id string) error
	EndAll(ctx context.Context, team, userID string) (int, error)
	List(ctx context.Context, team, userID string) ([]store.Session, error)
}

// IDTokens verifies the ID tokens that clients hand back as
// id_token_hint (signing.Manager is one): see oidc.CheckHint.
type IDTokens = oidc.Verifier

// Scopes describes the scopes a consent page shows (scope.Catalog is one).
type Scopes interface {
	Describe(name string) (string, bool)
}

// Passwords checks passwords, a bounded number at a time with a bounded
// line (secret.PasswordQueue is one): Enter refuses at once when the line
// is full; Verify, between Enter and Leave, waits for a turn and checks pw
// against the stored hash ("" for a user who does not exist: the same
// work against a hash no password matches).
type Passwords interface {
	Enter() error
	Leave()
	Verify(ctx context.Context, pw, encoded string) (bool, error)
}

// Refusals counts the sign-ins that the limits refused, audited together
// (ratelimit.Refusals is one).
type Refusals interface {
	Add(r ratelimit.Refusal)
}

// Auditor records the audit events that answers depend on
// (auditlog.Batcher is one): Add returns once the event is durable, or an
// error, and the request is then answered with the 503 page instead.
type Auditor interface {
	Add(e store.AuditEvent) error
}

// Options are what the UI is built from. Users, Clients, Consents,
// Sessions, Scopes, Key, the limiters, Refusals and Audit are required.
type Options struct {
	Users    Users
	Clients  Clients
	Consents Consents
	Sessions Sessions
	Scopes   Scopes
	// IDTokens checks the id_token_hint of an authorization request and
	// of RP-initiated logout (OpenID Connect).
	IDTokens IDTokens
	Key      masterkey.Key
	// Secure is true when the team URLs are https: the cookies then take
	// the __Host- prefix and the Secure attribute.
	Secure bool
	// Failed logins are limited per account and per IP (the client's
	// address: edge.ClientIP), on this node and for every node; the
	// attempts they refuse are counted by Refusals, not written one by
	// one.
	AccountLimit, IPLimit *ratelimit.Budget
	Refusals              Refusals
	Audit                 Auditor
	Now                   func() time.Time // nil: time.Now
	Gen                   secret.Generator
	// Passwords bounds the Argon2id checks running at once (each takes
	// 64 MiB) and waiting for their turn.
	Passwords Passwords
	// Console is what the console's pages (/admin/...) and the profile's
	// account, password and API key forms are built on: the services the
	// admin API calls. Required by RegisterConsole.
	Console ConsoleOptions
}

// UI serves the web pages of every team.
type UI struct {
	o         Options
	pages     map[string]*template.Template
	css       template.CSS
	csp       string
	csrfKey   []byte
	cop       *http.CrossOriginProtection
	sessionCk string
	loginCk   string
	// script is the console's one script (templates/console.js), served
	// at scriptPath and loaded with its integrity (SRI) from that exact
	// URL, which is all the pages' CSP lets run.
	script    []byte
	scriptSRI string
}

// New builds the UI.
func New(o Options) (*UI, error) {
	if o.Users == nil || o.Clients == nil || o.Consents == nil || o.Sessions == nil || o.Scopes == nil || o.AccountLimit == nil || o.IPLimit == nil ||
		o.Refusals == nil || o.Audit == nil || o.Passwords == nil || o.IDTokens == nil {
		return nil, errors.New("web UI: users, clients, consents, sessions, scopes, ID tokens, limits, refusals, audit and passwords are required")
	}
	csrfKey := o.Key.Derive("web csrf")
	if csrfKey == nil {
		return nil, errors.New("web UI: no master key")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	u := &UI{
		o:       o,
		pages:   map[string]*template.Template{},
		css:     template.CSS(css),
		csrfKey: csrfKey,
		cop:     http.NewCrossOriginProtection(),
	}
	if u.script, err = templateFS.ReadFile("templates/console.js"); err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	jsSum := sha256.Sum256(u.script)
	u.scriptSRI = "sha256-" + base64.StdEncoding.EncodeToString(jsSum[:])
	sum := sha256.Sum256(css)
	// No script, no frame, no outside resource: only the inline style
	// whose hash this is.
	u.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web UI: parse %s: %w", name, err)
		}
		u.pages[name] = t
	}
	u.sessionCk, u.loginCk = "gatehouse_session", "gatehouse_login"
	if o.Secure {
		// __Host-: only ever set with Secure, Path=/ and no Domain, so no
		// other host, not even a sibling team's, can plant or read it.
		u.sessionCk, u.loginCk = "__Host-"+u.sessionCk, "__Host-"+u.loginCk
	}
	return u, nil
}

func (u *UI) now() time.Time { return u.o.Now() }

// view is what a page template renders. The base layout uses Team, Title,
// CSS, User and CSRF; each page the fields it needs.
type view struct {
	Team  string
	Title string
	CSS   template.CSS
	User  *store.User // signed in: the header shows the account and a sign-out button
	CSRF  string      // the session's CSRF token, for every session form

	Error  string // shown with role=alert and linked to the fields it concerns
	Notice string

	// The login page.
	FormCSRF string
	ReturnTo string
	Email    string

	// The message page.
	Link, LinkText string

	// Nav lists the console's sections the user may see (the header
	// shows them); Wide widens the page for the console's tables; Script
	// loads the console's script (the copy buttons of a one-time secret).
	Nav       []navLink
	Wide      bool
	Script    bool
	ScriptSRI string
	// Page is what a console page or a profile form shows.
	Page any

	Consent consentView
	Profile profileView
	Logout  logoutView
}

// render writes page name with status. Every page is private to its
// viewer, may not be framed, and loads nothing from elsewhere.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	info := edge.RequestInfo(r)
	v.Team, v.CSS = info.Team.Name, u.css
	csp := u.csp
	if v.Script {
		// The one script, from this exact URL (a host-source with a path
		// matches that file only) and with its integrity: nothing inline,
		// nothing else of this origin.
		v.ScriptSRI = u.scriptSRI
		csp += "; script-src " + info.TeamURL + scriptPath
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "base", v); err != nil {
		info.Log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error; request "+info.RequestID, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message renders a page that says one thing: an error when isError.
func (u *UI) message(w http.ResponseWriter, r *http.Request, status int, title, text string, isError bool, v view) {
	v.Title = title
	if isError {
		v.Error = text
	} else {
		v.Notice = text
	}
	u.render(w, r, status, "message", v)
}

// unavailable is the page of a failure to decide (the store did not
// answer): 503 with Retry-After, as every route answers then; the user may
// try again.
func (u *UI) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	edge.LogFailure(r.Context(), edge.RequestInfo(r).Log, what, err)
	w.Header().Set("Retry-After", strconv.Itoa(edge.RetryAfterSeconds))
	u.message(w, r, http.StatusServiceUnavailable, "Try again shortly",
		"The service could not complete the request. Please try again in a moment.", true, view{})
}

// forbidden is the answer to a form that fails its CSRF checks.
func (u *UI) forbidden(w http.ResponseWriter, r *http.Request, s *signedIn) {
	v := view{Link: "/profile", LinkText: "Go to your profile"}
	if r.URL.Path == "/login" {
		v.Link, v.LinkText = "/login", "Sign in again"
	}
	if s != nil {
		v.User, v.CSRF = &s.user, u.sessionToken(r, s.sess)
	}
	u.message(w, r, http.StatusForbidden, "This form has expired",
		"The form was not sent from this site, or it expired. Go back, reload the page and try again.", true, v)
}

// redirect answers with a redirect: 303 after a POST, so that the browser
// follows with a GET, else 302. What it carries is private.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	code := http.StatusFound
	if r.Method == http.MethodPost || r.Method == http.MethodDelete {
		code = http.StatusSeeOther
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, to, code)
}

// safeReturn keeps a return_to only when it is a path on this host:
// absolute-path, no scheme, no authority ("//evil" and "/\evil" are
// authorities to browsers), no control characters. Anything else is "",
// so that no link can send a user elsewhere after signing in.
func safeReturn(s string) string {
	if s == "" || len(s) > 4096 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\") {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return ""
		}
	}
	p, err := url.Parse(s)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || p.Opaque != "" {
		return ""
	}
	return s
}

// loginURL is the sign-in page that comes back to returnTo.
func loginURL(returnTo string) string {
	if returnTo == "" {
		return "/login"
	}
	return "/login?return_to=" + url.QueryEscape(returnTo)
}

// sameOrigin applies net/http's CrossOriginProtection to an unsafe
// request (Sec-Fetch-Site, else Origin against Host); a refused request
// has been answered.
func (u *UI) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := u.cop.Check(r); err != nil {
		u.forbidden(w, r, nil)
		return false
	}
	return true
}

// retryAfter writes Retry-After in whole seconds, rounded up.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}

// userActor is the signed-in user u as the actor of r, for the audit log.
func userActor(r *http.Request, u store.User) kernel.Actor {
	return kernel.Actor{ID: "user:" + u.Email, IP: edge.ClientIP(r), UserAgent: r.UserAgent()} // kernel.Event clips it
}
