package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The web console: the team's management as pages, for its admins and
// for anyone granted a part of it (/admin/...), and the profile's
// account, password and API key forms. It calls the same services as the
// admin API (internal/adminapi) with the signed-in user as the actor and
// what the user holds as the actor's authority, so every rule, the audit
// event of every change, and "a caller hands on only what it holds" are
// the same whichever way a change comes. A page needs the permission the
// admin API's route of the same listing needs (read on its resource), a
// change the one of the same change (manage); a team admin holds every
// permission. The navigation shows only the sections the user may read,
// and every other /admin/ page answers 403.
//
// Every page works without JavaScript: a destructive action is a link to
// a page that asks to confirm it with a form; the only script is
// console.js, the copy buttons of the one-time secret pages.

// AdminService is the administrative service (admin.Service is one):
// the admin API's, so that the console cannot need what the API lacks.
type AdminService = adminapi.Admin

// ClientAdmin registers OAuth clients (client.Service is one).
type ClientAdmin interface {
	Create(ctx context.Context, a kernel.Actor, team string, in client.NewClient) (store.Client, secret.Secret, error)
	Get(ctx context.Context, team, id string) (store.Client, error)
	Delete(ctx context.Context, a kernel.Actor, team, id string) error
	Rotate(ctx context.Context, a kernel.Actor, team, id string, grace time.Duration) (client.Rotation, error)
	Find(ctx context.Context, team string, f store.ClientFilter, p store.Page) ([]store.Client, string, error)
}

// KeyAdmin manages static keys (statickey.Service is one).
type KeyAdmin interface {
	Create(ctx context.Context, a kernel.Actor, team string, in statickey.NewKey) (statickey.Key, secret.Secret, error)
	Delete(ctx context.Context, a kernel.Actor, team, id string) error
	DeleteOwn(ctx context.Context, a kernel.Actor, team, userID, id string) error
	Find(ctx context.Context, team string, f statickey.Query, p store.Page) ([]statickey.Key, string, error)
	FindOwn(ctx context.Context, team, userID string, p store.Page) ([]statickey.Key, string, error)
	Policy(ctx context.Context, team string) (statickey.Policy, bool, error)
	SetPolicy(ctx context.Context, a kernel.Actor, team string, c statickey.PolicyChange) (statickey.Policy, bool, error)
	Migrate(ctx context.Context, a kernel.Actor, team, keyID, authMethod string, routes []authz.Route) (store.Client, secret.Secret, error)
}

// SigningAdmin lists and rotates signing keys (signing.Manager is one),
// as the admin API does.
type SigningAdmin = adminapi.Signing

// Principals resolves a principal's grants (authz.Checker is one).
type Principals interface {
	Resolve(ctx context.Context, team, kind, id string) (authz.Entry, error)
}

// History reads the audit log, the login history and a static key (the
// store is one).
type History interface {
	Key(ctx context.Context, team, id string) (store.StaticKey, error)
	ListAudit(ctx context.Context, team string, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error)
	ListLogins(ctx context.Context, team string, f store.LoginFilter, p store.Page) ([]store.LoginEvent, string, error)
}

// Catalog is the scope catalog (scope.Catalog is one).
type Catalog interface {
	All() []scope.Scope
}

// ConsoleOptions are the services of the console's pages.
type ConsoleOptions struct {
	Admin      AdminService
	Clients    ClientAdmin
	Keys       KeyAdmin
	Signing    SigningAdmin
	Principals Principals
	History    History
	Catalog    Catalog
	// Routes lists the routes whose scopes a migrated static key's client
	// may need, as the admin API's migration takes them.
	Routes func() []authz.Route
}

// The permissions of the console: as the admin API's routes and the team
// APIs' (a team admin holds every one).
const (
	actRead   = "read"
	actManage = "manage"

	resClients      = "clients"
	resApps         = "apps"
	resKeys         = "keys"
	resUsers        = "users"
	resGroups       = "groups"
	resPermissions  = "permissions"
	resTeam         = "team"
	resAuditLog     = "audit-log"
	resLoginHistory = "login-history"
)

// consolePages are the console's templates.
var consolePages = []string{"admin_clients", "admin_client", "admin_client_new", "admin_apps", "admin_app", "admin_secret",
	"admin_confirm", "admin_users", "admin_user", "admin_groups", "admin_group", "admin_permissions", "admin_static_keys",
	"admin_migrate", "admin_audit", "admin_logins", "admin_settings", "admin_forbidden"}

// section is a part of the console in its navigation.
type section struct {
	Path, Label string
	// Reads are the resources any of which, read, shows the section.
	Reads []string
}

var sections = []section{
	{"/admin/applications", "Applications", []string{resClients, resApps}},
	{"/admin/users", "Users", []string{resUsers}},
	{"/admin/groups", "Groups", []string{resGroups}},
	{"/admin/permissions", "Permissions", []string{resPermissions}},
	{"/admin/static-keys", "Static keys", []string{resKeys}},
	{"/admin/audit-log", "Audit log", []string{resAuditLog}},
	{"/admin/login-history", "Login history", []string{resLoginHistory}},
	{"/admin/settings", "Settings", []string{resTeam}},
}

func (s section) visible(g authz.Grants) bool {
	for _, res := range s.Reads {
		if g.Allows(actRead, res) {
			return true
		}
	}
	return false
}

// navLink is a section in the header's navigation.
type navLink struct {
	Path, Label string
	Current     bool
}

// nav lists the sections g may see, marking the one path is in.
func nav(g authz.Grants, path string) []navLink {
	var out []navLink
	for _, s := range sections {
		if s.visible(g) {
			out = append(out, navLink{Path: s.Path, Label: s.Label, Current: path == s.Path || strings.HasPrefix(path, s.Path+"/")})
		}
	}
	return out
}

// desk is a console request of a signed-in user: who, what they hold, and
// the page's frame.
type desk struct {
	s      *signedIn
	grants authz.Grants
	actor  kernel.Actor
	team   string
}

// may tells whether the user holds action on res.
func (d *desk) may(action, res string) bool { return d.grants.Allows(action, res) }

// view is the frame of a console page titled title.
func (u *UI) deskView(r *http.Request, d *desk, title string) view {
	return view{Title: title, User: &d.s.user, CSRF: u.sessionToken(r, d.s.sess), Nav: nav(d.grants, r.URL.Path), Wide: true}
}

// grantsOf resolves what the signed-in user holds: their own and their
// groups' permissions, everything for a team admin.
func (u *UI) grantsOf(ctx context.Context, user store.User) (authz.Grants, error) {
	if u.o.Console.Principals == nil {
		return authz.Grants{}, nil // no console: the profile alone
	}
	e, err := u.o.Console.Principals.Resolve(ctx, user.Team, authz.User, user.ID)
	if err != nil {
		return authz.Grants{}, err
	}
	return e.Grants, nil
}

// openDesk returns the console request of a signed-in user who may see
// the page (need is nil for a page of every user), or answers: the
// sign-in page for no session, 403 for a user who may not, 503 when the
// store does not answer.
func (u *UI) openDesk(w http.ResponseWriter, r *http.Request, need func(authz.Grants) bool) (*desk, bool) {
	s, ok := u.requireSession(w, r)
	if !ok {
		return nil, false
	}
	return u.deskOf(w, r, s, need)
}

// deskOf is openDesk for the user of a session already read.
func (u *UI) deskOf(w http.ResponseWriter, r *http.Request, s *signedIn, need func(authz.Grants) bool) (*desk, bool) {
	g, err := u.grantsOf(r.Context(), s.user)
	if err != nil {
		if errors.Is(err, authz.ErrUnknownPrincipal) {
			redirect(w, r, loginURL(""))
			return nil, false
		}
		u.unavailable(w, r, "resolve grants", err)
		return nil, false
	}
	d := &desk{s: s, grants: g, team: s.user.Team,
		actor: kernel.Actor{ID: "user:" + s.user.Email, IP: kernel.Clip(edge.ClientIP(r), kernel.MaxIP), UserAgent: r.UserAgent(), Authority: g}}
	if need != nil && !need(g) {
		u.deskForbidden(w, r, d, "")
		return nil, false
	}
	return d, true
}

// deskForbidden is the 403 page of a console page or change the user may
// not see or make.
func (u *UI) deskForbidden(w http.ResponseWriter, r *http.Request, d *desk, why string) {
	v := u.deskView(r, d, "Not allowed")
	if why == "" {
		why = "You do not have the permission this page needs. Ask a team admin of " + d.team + " to grant it."
	}
	v.Error = why
	v.Wide = false
	u.render(w, r, http.StatusForbidden, "admin_forbidden", v)
}

// reads and manages are the needs of a page and of a change.
func reads(res ...string) func(authz.Grants) bool {
	return func(g authz.Grants) bool {
		for _, x := range res {
			if g.Allows(actRead, x) {
				return true
			}
		}
		return false
	}
}

func manages(res string) func(authz.Grants) bool {
	return func(g authz.Grants) bool { return g.Allows(actManage, res) }
}

// page serves a console page (GET) to a user who meets need.
func (u *UI) page(need func(authz.Grants) bool, fn func(http.ResponseWriter, *http.Request, *desk)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, ok := u.openDesk(w, r, need)
		if !ok {
			return
		}
		fn(w, r, d)
	}
}

// change serves a console form (POST) to a user who meets need: the
// request must come from this origin and carry the session's CSRF token.
// fn finds the form in r.PostForm.
func (u *UI) change(need func(authz.Grants) bool, fn func(http.ResponseWriter, *http.Request, *desk)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !u.sameOrigin(w, r) {
			return
		}
		s, ok := u.requireSession(w, r)
		if !ok {
			return
		}
		if err := r.ParseForm(); err != nil || !u.validSessionToken(r, s.sess, r.PostForm.Get("csrf_token")) {
			u.forbidden(w, r, s)
			return
		}
		d, ok := u.deskOf(w, r, s, need)
		if !ok {
			return
		}
		fn(w, r, d)
	}
}

// Mux is where RegisterConsole adds its routes (*http.ServeMux, or the
// server's list of its own routes).
type Mux interface {
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// RegisterConsole adds the console's routes and the profile's forms to
// mux. Its forms are urlencoded: any other body is refused unread.
func (u *UI) RegisterConsole(mux Mux) {
	get := func(pattern string, h http.HandlerFunc) { mux.HandleFunc("GET "+pattern, h) }
	post := func(pattern string, h http.HandlerFunc) { mux.HandleFunc("POST "+pattern, u.FormOnly(h)) }

	get(scriptPath, u.serveScript)
	get("/admin", u.page(nil, u.adminHome))
	get("/admin/{$}", u.page(nil, u.adminHome))

	// OAuth clients, applications and their AppKeys.
	get("/admin/applications", u.page(reads(resClients, resApps), u.clientsPage))
	get("/admin/applications/new", u.page(manages(resClients), u.newClientPage))
	post("/admin/applications/new", u.change(manages(resClients), u.createClient))
	get("/admin/applications/clients/{client_id}", u.page(reads(resClients), u.clientPage))
	get("/admin/applications/clients/{client_id}/secret", u.page(manages(resClients), u.confirmRotate))
	post("/admin/applications/clients/{client_id}/secret", u.change(manages(resClients), u.rotateSecret))
	get("/admin/applications/clients/{client_id}/delete", u.page(manages(resClients), u.confirmDeleteClient))
	post("/admin/applications/clients/{client_id}/delete", u.change(manages(resClients), u.deleteClient))
	get("/admin/applications/apps", u.page(reads(resApps), u.appsPage))
	post("/admin/applications/apps", u.change(manages(resApps), u.createApp))
	get("/admin/applications/apps/{name}", u.page(reads(resApps), u.appPage))
	post("/admin/applications/apps/{name}/keys", u.change(manages(resKeys), u.createAppKey))
	get("/admin/applications/apps/{name}/delete", u.page(manages(resApps), u.confirmDeleteApp))
	post("/admin/applications/apps/{name}/delete", u.change(manages(resApps), u.deleteApp))

	// Users, groups and permissions.
	get("/admin/users", u.page(reads(resUsers), u.usersPage))
	post("/admin/users", u.change(manages(resUsers), u.createUser))
	get("/admin/users/{id}", u.page(reads(resUsers), u.userPage))
	post("/admin/users/{id}", u.change(manages(resUsers), u.updateUser))
	post("/admin/users/{id}/password", u.change(manages(resUsers), u.setUserPassword))
	get("/admin/users/{id}/sessions", u.page(manages(resUsers), u.confirmEndSessions))
	post("/admin/users/{id}/sessions", u.change(manages(resUsers), u.endSessions))
	get("/admin/users/{id}/delete", u.page(manages(resUsers), u.confirmDeleteUser))
	post("/admin/users/{id}/delete", u.change(manages(resUsers), u.deleteUser))
	get("/admin/groups", u.page(reads(resGroups), u.groupsPage))
	post("/admin/groups", u.change(manages(resGroups), u.createGroup))
	get("/admin/groups/{name}", u.page(reads(resGroups), u.groupPage))
	post("/admin/groups/{name}/members", u.change(manages(resGroups), u.addMember))
	get("/admin/groups/{name}/members/{email}/delete", u.page(manages(resGroups), u.confirmRemoveMember))
	post("/admin/groups/{name}/members/{email}/delete", u.change(manages(resGroups), u.removeMember))
	get("/admin/groups/{name}/delete", u.page(manages(resGroups), u.confirmDeleteGroup))
	post("/admin/groups/{name}/delete", u.change(manages(resGroups), u.deleteGroup))
	get("/admin/permissions", u.page(reads(resPermissions), u.permissionsPage))
	post("/admin/permissions", u.change(manages(resPermissions), u.grant))
	get("/admin/permissions/revoke", u.page(manages(resPermissions), u.confirmRevoke))
	post("/admin/permissions/revoke", u.change(manages(resPermissions), u.revokePermission))

	// Static keys: the policy, the report, migration, deletion.
	get("/admin/static-keys", u.page(reads(resKeys), u.staticKeysPage))
	post("/admin/static-keys", u.change(manages(resKeys), u.createUserKey))
	post("/admin/static-keys/policy", u.change(manages(resKeys), u.setPolicy))
	get("/admin/static-keys/{id}/migrate", u.page(manages(resKeys), u.migratePage))
	post("/admin/static-keys/{id}/migrate", u.change(manages(resKeys), u.migrate))
	get("/admin/static-keys/{id}/delete", u.page(manages(resKeys), u.confirmDeleteKey))
	post("/admin/static-keys/{id}/delete", u.change(manages(resKeys), u.deleteKey))

	// The histories.
	get("/admin/audit-log", u.page(reads(resAuditLog), u.auditPage))
	get("/admin/login-history", u.page(reads(resLoginHistory), u.loginsPage))

	// Token settings and signing keys.
	get("/admin/settings", u.page(reads(resTeam), u.settingsPage))
	post("/admin/settings", u.change(manages(resTeam), u.updateSettings))
	post("/admin/settings/signing-keys/rotate", u.change(manages(resTeam), u.rotateSigningKey))

	// The profile's own forms: every signed-in user's.
	post("/profile/account", u.change(nil, u.updateAccount))
	post("/profile/password", u.change(nil, u.changePassword))
	post("/profile/keys", u.change(nil, u.createOwnKey))
	get("/profile/keys/{id}/delete", u.page(nil, u.confirmDeleteOwnKey))
	post("/profile/keys/{id}/delete", u.change(nil, u.deleteOwnKey))
}

// adminHome is /admin: the first section the user may see, or 403.
func (u *UI) adminHome(w http.ResponseWriter, r *http.Request, d *desk) {
	if n := nav(d.grants, ""); len(n) > 0 {
		redirect(w, r, n[0].Path)
		return
	}
	u.deskForbidden(w, r, d, "")
}

// scriptPath is where the console's script is served.
const scriptPath = "/console/console.js"

// serveScript serves console.js: public, the same for every team.
func (u *UI) serveScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=300")
	w.Write(u.script)
}

// ---- Forms, errors, pages of a listing ----

// form is a submitted form, shown again with what was wrong: Errs maps a
// field (named as the admin API's JSON field) to its problem.
type form struct {
	Values url.Values
	Errs   map[string]string
}

func newForm(v url.Values) form { return form{Values: v, Errs: map[string]string{}} }

// Get is the value of a field.
func (f form) Get(name string) string { return f.Values.Get(name) }

// Has tells whether a field (a checkbox, an option) has value.
func (f form) Has(name, value string) bool {
	for _, v := range f.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Err is a field's problem.
func (f form) Err(name string) string { return f.Errs[name] }

// deskFail answers the error of a service. A problem with what the user sent
// (an invalid field, a duplicate, a stale version, a change the user may
// not make) is shown on the form again through again, with its status;
// an unknown record is the 404 page, a store that does not answer the 503
// page.
func (u *UI) deskFail(w http.ResponseWriter, r *http.Request, d *desk, err error, again func(status int, msg string, errs map[string]string)) {
	errs := map[string]string{}
	switch {
	case errors.Is(err, kernel.ErrInvalid):
		msg := "Some fields are not right: see below."
		for _, fe := range kernel.FieldErrors(err) {
			errs[fe.Field] = sentence(strings.TrimPrefix(fe.Error(), "invalid "))
		}
		if len(errs) == 0 {
			msg = sentence(strings.TrimPrefix(err.Error(), "invalid "))
		}
		again(http.StatusUnprocessableEntity, msg, errs)
	case errors.Is(err, kernel.ErrForbidden), errors.Is(err, statickey.ErrRefusedNew):
		again(http.StatusForbidden, sentence(err.Error()), errs)
	case errors.Is(err, kernel.ErrStale):
		again(http.StatusPreconditionFailed, "Someone changed this since you opened the page: the page now shows their change. Make yours again if it still applies.", errs)
	case errors.Is(err, store.ErrAlreadyExists):
		again(http.StatusConflict, sentence(err.Error())+": pick another name.", errs)
	case errors.Is(err, statickey.ErrCannotMigrate):
		again(http.StatusConflict, sentence(err.Error()), errs)
	case errors.Is(err, store.ErrNotFound):
		v := u.deskView(r, d, "Not found")
		v.Wide = false
		u.message(w, r, http.StatusNotFound, "Not found", sentence(err.Error()), true, v)
	case errors.Is(err, store.ErrInvalid):
		v := u.deskView(r, d, "Cannot show this page")
		v.Wide = false
		u.message(w, r, http.StatusBadRequest, "Cannot show this page", "The link to this page of the list is not valid. Start again from the first page.", true, v)
	case errors.Is(err, store.ErrUnavailable):
		u.unavailable(w, r, "console", err)
	default:
		info := edge.RequestInfo(r)
		edge.LogFailure(r.Context(), info.Log, "console", err, "route", r.Pattern)
		v := u.deskView(r, d, "Something went wrong")
		v.Wide = false
		u.message(w, r, http.StatusInternalServerError, "Something went wrong", "The request failed; request "+info.RequestID+".", true, v)
	}
}

// failPage answers the error of reading a page: there is no form to show
// again, so a problem of the request is said on a page of its own.
func (u *UI) failPage(w http.ResponseWriter, r *http.Request, d *desk, err error) {
	u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
		if len(errs) > 0 {
			var all []string
			for _, e := range errs {
				all = append(all, e)
			}
			slices.Sort(all)
			msg = strings.Join(all, " ")
		}
		v := u.deskView(r, d, "Cannot show this page")
		v.Wide = false
		u.message(w, r, status, "Cannot show this page", msg, true, v)
	})
}

// kernelInvalid is a problem of a form's field found before a service
// was called.
func kernelInvalid(field, msg string) error { return kernel.InvalidField(field, "%s", msg) }

// notFound is a record the page names that does not exist.
func notFound(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }

// sentence capitalises a service's message for a page.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// pageSize is the number of rows of a listing's page.
const pageSize = 50

// listPage reads ?cursor= of a listing.
func listPage(r *http.Request) store.Page {
	return store.Page{Limit: pageSize, Cursor: r.URL.Query().Get("cursor")}
}

// pager links a listing's pages: its first, and the next when there is
// one, each keeping the listing's search.
type pager struct {
	First, Next string // "" for none
}

func newPager(r *http.Request, next string) pager {
	q := r.URL.Query()
	var p pager
	if q.Get("cursor") != "" {
		q.Del("cursor")
		p.First = r.URL.Path + query(q)
	}
	if next != "" {
		q.Set("cursor", next)
		p.Next = r.URL.Path + query(q)
	}
	return p
}

func query(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// when is a time as a page shows it, machine-readable and for people.
type when struct {
	ISO, Text string
}

func at(t time.Time) when {
	return when{ISO: t.UTC().Format(time.RFC3339), Text: t.UTC().Format("2 Jan 2006 15:04 UTC")}
}

func atPtr(t *time.Time) *when {
	if t == nil {
		return nil
	}
	w := at(*t)
	return &w
}

// age says how long ago t was, roughly.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ---- The one-time secret page and the confirmation page ----

// secretField is a value shown once, in an element with data-field.
type secretField struct {
	Label, Field, Value string
}

// secretView is a page that shows a new secret once.
type secretView struct {
	Heading, Intro string
	Fields         []secretField
	Next, NextText string
}

// showSecret renders the one-time page of a new credential. It is never
// stored, cached or shown again.
func (u *UI) showSecret(w http.ResponseWriter, r *http.Request, v view, status int, sv secretView) {
	v.Page, v.Script, v.Wide = sv, true, false
	u.render(w, r, status, "admin_secret", v)
}

// hidden is a hidden field of a confirmation's form.
type hidden struct{ Name, Value string }

// confirmView asks to confirm an action with a form that makes it.
type confirmView struct {
	Heading, Text  string
	Action, Button string
	Danger         bool
	Hidden         []hidden
	Cancel         string
	// Graces offers grace periods for the old secret (a rotation).
	Graces []choice
}

func (u *UI) confirm(w http.ResponseWriter, r *http.Request, d *desk, c confirmView) {
	v := u.deskView(r, d, c.Heading)
	v.Page, v.Wide = c, false
	u.render(w, r, http.StatusOK, "admin_confirm", v)
}
