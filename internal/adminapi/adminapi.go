// Package adminapi serves the admin API (/api/admin/) and the profile API
// (/api/profile/) on a team's host: a team's management over HTTP, for
// scripts, infrastructure tools, the CLI in remote mode and the web
// console, and the signed-in user's own profile, API keys and consents.
//
// Handlers decode, call the same services the CLI calls (internal/admin,
// client, statickey, consent, signing), and encode: every rule lives in
// those services, every change is written there with its audit event in
// one transaction. The actor of a change is the caller's principal with
// the request's source address and user agent, and what the caller holds
// (the guard's grants), which the services check the change against: a
// caller hands on only what it holds.
//
// Every admin route passes the access rule like any other: scope
// team.admin and the route's permission (Routes lists them). Errors are
// RFC 9457 problem details (application/problem+json): 422 with an
// "errors" list naming each invalid field, 409 for a duplicate, 404 for
// an unknown record, 412 for a stale If-Match, 403 for a change that
// would hand on what the caller does not hold; nothing is written on any
// error. Lists answer {"items": [...], "next_cursor": "..."} and page with
// ?limit= (1 to 1000, default 50) and ?cursor=.
package adminapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Admin is the administrative service (admin.Service is one).
type Admin interface {
	CreateUser(ctx context.Context, a kernel.Actor, team string, in admin.NewUser) (store.User, error)
	User(ctx context.Context, team, ref string) (store.User, error)
	UpdateUser(ctx context.Context, a kernel.Actor, team, ref string, c admin.UserChange) (store.User, error)
	DeleteUser(ctx context.Context, a kernel.Actor, team, ref string) error
	EndSessions(ctx context.Context, a kernel.Actor, team, ref string) (int, error)
	FindUsers(ctx context.Context, team string, f store.UserFilter, p store.Page) ([]store.User, string, error)
	CreateGroup(ctx context.Context, a kernel.Actor, team, name string) (store.Group, error)
	DeleteGroup(ctx context.Context, a kernel.Actor, team, name string) error
	AddMember(ctx context.Context, a kernel.Actor, team, group, email string) error
	RemoveMember(ctx context.Context, a kernel.Actor, team, group, email string) error
	FindGroups(ctx context.Context, team string, f store.NameFilter, p store.Page) ([]store.Group, string, error)
	Emails(ctx context.Context, team string, ids []string) (map[string]string, error)
	CreateApp(ctx context.Context, a kernel.Actor, team, name string) (store.Application, error)
	DeleteApp(ctx context.Context, a kernel.Actor, team, name string) error
	FindApps(ctx context.Context, team string, f store.NameFilter, p store.Page) ([]store.Application, string, error)
	Grant(ctx context.Context, a kernel.Actor, p store.Permission) (store.Permission, error)
	Revoke(ctx context.Context, a kernel.Actor, p store.Permission) error
	FindPermissions(ctx context.Context, team, principal string, p store.Page) ([]store.Permission, string, error)
	TeamSettings(ctx context.Context, team string) (store.TeamSettings, error)
	SetTeamSettings(ctx context.Context, a kernel.Actor, team string, c admin.TeamSettingsChange) (store.TeamSettings, error)
}

// Clients registers OAuth clients (client.Service is one).
type Clients interface {
	Create(ctx context.Context, a kernel.Actor, team string, in client.NewClient) (store.Client, secret.Secret, error)
	Get(ctx context.Context, team, id string) (store.Client, error)
	Update(ctx context.Context, a kernel.Actor, team, id string, c client.Change) (store.Client, error)
	Delete(ctx context.Context, a kernel.Actor, team, id string) error
	Rotate(ctx context.Context, a kernel.Actor, team, id string, grace time.Duration) (client.Rotation, error)
	Find(ctx context.Context, team string, f store.ClientFilter, p store.Page) ([]store.Client, string, error)
}

// Keys manages static keys (statickey.Service is one).
type Keys interface {
	Create(ctx context.Context, a kernel.Actor, team string, in statickey.NewKey) (statickey.Key, secret.Secret, error)
	Delete(ctx context.Context, a kernel.Actor, team, id string) error
	DeleteOwn(ctx context.Context, a kernel.Actor, team, userID, id string) error
	Find(ctx context.Context, team string, f statickey.Query, p store.Page) ([]statickey.Key, string, error)
	FindOwn(ctx context.Context, team, userID string, p store.Page) ([]statickey.Key, string, error)
	Policy(ctx context.Context, team string) (statickey.Policy, bool, error)
	SetPolicy(ctx context.Context, a kernel.Actor, team string, c statickey.PolicyChange) (statickey.Policy, bool, error)
	ReportPage(ctx context.Context, team string, p store.Page) (statickey.Report, string, error)
	Migrate(ctx context.Context, a kernel.Actor, team, keyID, authMethod string, routes []authz.Route) (store.Client, secret.Secret, error)
}

// Signing lists and rotates signing keys (signing.Manager is one).
type Signing interface {
	Keys(ctx context.Context, team string) ([]signing.KeyInfo, error)
	RotateFor(ctx context.Context, a kernel.Actor, team, alg string) (signing.KeyInfo, error)
}

// Consents are the users' consents (consent.Service is one).
type Consents interface {
	List(ctx context.Context, team, userID string) ([]store.Consent, error)
	Revoke(ctx context.Context, a kernel.Actor, team, userID, clientID string) error
}

// Sessions finds the signed-in user of a request with a session cookie
// (webui.UI is one): the error is ErrNoSession without a live session,
// ErrCSRF for an unsafe request not proven to come from the session's
// own pages.
type Sessions interface {
	APISession(r *http.Request) (store.User, string, error)
}

// Principals resolves a principal's grants (authz.Checker is one).
type Principals interface {
	Resolve(ctx context.Context, team, kind, id string) (authz.Entry, error)
}

// Options are what the APIs are built on.
type Options struct {
	Guard      *access.Guard
	Admin      Admin
	Clients    Clients
	Keys       Keys
	Signing    Signing
	Consents   Consents
	Sessions   Sessions
	Principals Principals
	Scopes     *scope.Catalog
	// Routes lists the routes whose scopes a migrated static key's client
	// may need (the team APIs' and the gateway's), as of the call.
	Routes func() []authz.Route
	// NoSession is the error Sessions answers for a request without a
	// session (webui.ErrNoSession), and CSRF for a refused unsafe one.
	NoSession, CSRF error
	Now             func() time.Time
}

// API serves the admin and profile APIs.
type API struct{ o Options }

// New returns the APIs on o's services.
func New(o Options) *API {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &API{o: o}
}

// Mux is where routes are registered (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds every route of Routes to mux: the admin routes behind the
// guard's rule, the profile routes behind the caller's session or token.
func (a *API) Register(mux Mux) {
	for _, rt := range a.routes() {
		var h http.Handler
		switch {
		case rt.Profile:
			h = a.profile(plainPath(rt, rt.handler))
		case rt.Public:
			h = http.HandlerFunc(rt.handler)
		default:
			h = a.o.Guard.Require(rt.Scope, rt.Action, access.Fixed(rt.Resource), plainPath(rt, rt.handler))
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
}

// plainPath answers 404 for a path value that is no plain text (see
// plainText): no record is named so, and a database may refuse to look.
func plainPath(rt Route, h http.HandlerFunc) http.HandlerFunc {
	var names []string
	for _, seg := range strings.Split(rt.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	if len(names) == 0 {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, n := range names {
			if !plainText(r.PathValue(n)) {
				problem(w, http.StatusNotFound, "%s %q: no such record", n, r.PathValue(n))
				return
			}
		}
		h(w, r)
	}
}

// actor is who makes the request's change: the guard's subject with what
// it holds, from where.
func actor(r *http.Request) kernel.Actor {
	if isLocal(r) {
		return kernel.CLI
	}
	a := kernel.Actor{IP: kernel.Clip(sourceAddr(r), kernel.MaxIP), UserAgent: r.UserAgent()}
	if sub, ok := access.FromContext(r.Context()); ok {
		a.ID = sub.Principal.String()
	}
	if g, ok := access.GrantsFromContext(r.Context()); ok {
		a.Authority = g
	} else {
		a.Authority = authz.Grants{} // holds nothing: never unbound
	}
	return a
}

// team is the request's team.
func team(r *http.Request) string { return edge.RequestInfo(r).Team.Name }
