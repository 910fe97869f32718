package webui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// /admin/applications: the OAuth clients, and the applications with their
// AppKeys (the Celonis guide's "Admin & Settings > Applications").

// clientRow is a client in the list and on its page.
type clientRow struct {
	ID, Name       string
	GrantTypes     []string
	AuthMethod     string
	Scopes         []scopeView
	RedirectURIs   []string
	AccessTokenTTL string // "" for the team's
	// OpenID Connect: the ID tokens' algorithm ("" without the
	// authorization_code grant) and where logout may send the user.
	IDTokenAlg             string
	PostLogoutRedirectURIs []string
	Created                when
	ActiveSecrets          int
	GraceEnds              []when
}

func (u *UI) clientRow(c store.Client) clientRow {
	row := clientRow{ID: c.ID, Name: c.Name, GrantTypes: c.GrantTypes, AuthMethod: c.AuthMethod, RedirectURIs: c.RedirectURIs,
		IDTokenAlg: client.IDTokenAlg(c), PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Created: at(c.CreatedAt)}
	if c.AccessTokenTTL > 0 {
		row.AccessTokenTTL = c.AccessTokenTTL.String()
	}
	for _, s := range c.Scopes {
		d, _ := u.o.Scopes.Describe(s)
		row.Scopes = append(row.Scopes, scopeView{Name: s, Description: d})
	}
	now := u.now()
	for _, s := range c.Secrets {
		if s.ExpiresAt != nil && !s.ExpiresAt.After(now) {
			continue
		}
		row.ActiveSecrets++
		if s.ExpiresAt != nil {
			row.GraceEnds = append(row.GraceEnds, at(*s.ExpiresAt))
		}
	}
	return row
}

// appsTabs are the two lists of the section.
type appsTabs struct {
	Clients, Apps bool   // the user may read them
	On            string // "clients" or "apps": the list shown
}

type clientsView struct {
	Tabs       appsTabs
	Items      []clientRow
	Pager      pager
	Search     form
	CanManage  bool
	GrantTypes []string
	Scopes     []string
}

func tabs(d *desk, on string) appsTabs {
	return appsTabs{Clients: d.may(actRead, resClients), Apps: d.may(actRead, resApps), On: on}
}

// clientsPage lists the team's OAuth clients: searched by the start of the
// name (q), a grant type and a scope, as the admin API's listing.
func (u *UI) clientsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	if !d.may(actRead, resClients) {
		redirect(w, r, "/admin/applications/apps") // the part of the section this user may read
		return
	}
	q := r.URL.Query()
	cs, next, err := u.o.Console.Clients.Find(r.Context(), d.team,
		store.ClientFilter{Query: q.Get("q"), GrantType: q.Get("grant_type"), Scope: q.Get("scope")}, listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	pv := clientsView{Tabs: tabs(d, "clients"), Pager: newPager(r, next), Search: newForm(q), CanManage: d.may(actManage, resClients),
		GrantTypes: []string{client.GrantClientCredentials, client.GrantAuthorizationCode}}
	for _, s := range u.o.Console.Catalog.All() {
		pv.Scopes = append(pv.Scopes, s.Name)
	}
	for _, c := range cs {
		pv.Items = append(pv.Items, u.clientRow(c))
	}
	v := u.deskView(r, d, "OAuth clients")
	v.Page = pv
	if id := q.Get("deleted"); id != "" {
		v.Notice = "The client was deleted: its secrets, tokens, consents and permissions are gone."
	}
	u.render(w, r, http.StatusOK, "admin_clients", v)
}

// newClientView is the registration form.
type newClientView struct {
	Form        form
	GrantTypes  []choice
	AuthMethods []choice
	Scopes      []scopeChoice
	IDTokenAlgs []choice
}

type choice struct{ Value, Label, Hint string }

type scopeChoice struct {
	Name, Description, ID string
}

func (u *UI) newClientView(f form) newClientView {
	nv := newClientView{Form: f,
		GrantTypes: []choice{
			{client.GrantClientCredentials, "Client credentials", "A service calls the APIs as itself, with its own permissions."},
			{client.GrantAuthorizationCode, "Authorization code", "An application acts for a user who signs in and consents; needs a redirect URI."},
		},
		AuthMethods: []choice{
			{client.AuthSecretBasic, "client_secret_basic", "The client sends its ID and secret in the Authorization header (HTTP Basic)."},
			{client.AuthSecretPost, "client_secret_post", "The client sends its ID and secret as fields of the token request's body."},
		},
		IDTokenAlgs: []choice{{"", "Default (" + client.DefaultIDTokenAlg + ", as OpenID Connect requires)", ""}}}
	for _, alg := range client.IDTokenAlgs {
		nv.IDTokenAlgs = append(nv.IDTokenAlgs, choice{Value: alg, Label: alg})
	}
	for i, s := range u.o.Console.Catalog.All() {
		nv.Scopes = append(nv.Scopes, scopeChoice{Name: s.Name, Description: s.Description, ID: "scope-" + strconv.Itoa(i)})
	}
	return nv
}

// newClientPage is the registration form: the Celonis guide's choices,
// each scope with its catalog description.
func (u *UI) newClientPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showNewClient(w, r, d, http.StatusOK, newForm(url.Values{"auth_method": {client.AuthSecretBasic},
		"grant_types": {client.GrantClientCredentials}}), "")
}

func (u *UI) showNewClient(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	v := u.deskView(r, d, "Register an OAuth client")
	v.Page, v.Error = u.newClientView(f), msg
	u.render(w, r, status, "admin_client_new", v)
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// createClient registers a client (the admin API's POST
// /api/admin/clients) and shows its secret once.
func (u *UI) createClient(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	in := client.NewClient{Name: strings.TrimSpace(f.Get("name")), GrantTypes: f.Values["grant_types"], AuthMethod: f.Get("auth_method"),
		Scopes: f.Values["scopes"], RedirectURIs: lines(f.Get("redirect_uris")),
		IDTokenAlg: f.Get("id_token_signed_response_alg"), PostLogoutRedirectURIs: lines(f.Get("post_logout_redirect_uris"))}
	if s := strings.TrimSpace(f.Get("access_token_ttl")); s != "" {
		ttl, err := time.ParseDuration(s)
		if err != nil {
			f.Errs["access_token_ttl"] = "Want a duration such as 15m or 1h."
			u.showNewClient(w, r, d, http.StatusUnprocessableEntity, f, "Some fields are not right: see below.")
			return
		}
		in.AccessTokenTTL = ttl
	}
	c, sec, err := u.o.Console.Clients.Create(r.Context(), d.actor, d.team, in)
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showNewClient(w, r, d, status, f, msg)
		})
		return
	}
	u.showSecret(w, r, u.deskView(r, d, "Client registered"), http.StatusCreated, secretView{
		Heading: "Client " + c.Name + " is registered",
		Intro:   "Copy the client secret now and keep it safe: it will not be shown again. If it is lost, regenerate it.",
		Fields:  []secretField{{"Client ID", "client_id", c.ID}, {"Client secret", "client_secret", sec.Reveal()}},
		Next:    "/admin/applications/clients/" + c.ID, NextText: "Go to the client",
	})
}

type clientView struct {
	Client    clientRow
	CanManage bool
	Rotated   bool
}

// clientPage shows a client: its registration, its secrets, and links to
// regenerate the secret and to delete it.
func (u *UI) clientPage(w http.ResponseWriter, r *http.Request, d *desk) {
	c, err := u.o.Console.Clients.Get(r.Context(), d.team, r.PathValue("client_id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	v := u.deskView(r, d, "Client "+c.Name)
	v.Page = clientView{Client: u.clientRow(c), CanManage: d.may(actManage, resClients)}
	u.render(w, r, http.StatusOK, "admin_client", v)
}

// graces are the grace periods a rotation offers (at most client.MaxGrace).
var graces = []choice{
	{"", "None: the old secret stops now", ""}, {"1h", "1 hour", ""}, {"24h", "24 hours", ""}, {"72h", "3 days", ""}, {"168h", "7 days", ""},
}

// confirmRotate asks to regenerate a client's secret, with a grace period.
func (u *UI) confirmRotate(w http.ResponseWriter, r *http.Request, d *desk) {
	c, err := u.o.Console.Clients.Get(r.Context(), d.team, r.PathValue("client_id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	u.confirm(w, r, d, confirmView{Heading: "Regenerate the secret of " + c.Name,
		Text: "A new secret is made and shown once. Without a grace period the current secret stops working at once; " +
			"with one it keeps working until the period ends, so that the integration can switch without downtime.",
		Action: r.URL.Path, Button: "Regenerate secret", Danger: true, Graces: graces,
		Cancel: "/admin/applications/clients/" + c.ID})
}

// rotateSecret regenerates a client's secret (the admin API's POST
// /api/admin/clients/{client_id}/secret) and shows it once.
func (u *UI) rotateSecret(w http.ResponseWriter, r *http.Request, d *desk) {
	id := r.PathValue("client_id")
	var grace time.Duration
	if s := r.PostForm.Get("grace"); s != "" {
		g, err := time.ParseDuration(s)
		if err != nil || g < 0 || g > client.MaxGrace {
			u.failPage(w, r, d, kernelInvalid("grace", "grace: want a duration of at most 7 days"))
			return
		}
		grace = g
	}
	rot, err := u.o.Console.Clients.Rotate(r.Context(), d.actor, d.team, id, grace)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	intro := "The old secret has stopped working."
	if rot.PreviousExpiresAt != nil {
		intro = "The old secret keeps working until " + at(*rot.PreviousExpiresAt).Text + ", and no longer."
	}
	u.showSecret(w, r, u.deskView(r, d, "New client secret"), http.StatusOK, secretView{
		Heading: "New client secret",
		Intro:   intro + " Copy the new secret now: it will not be shown again.",
		Fields:  []secretField{{"Client ID", "client_id", id}, {"Client secret", "client_secret", rot.Secret.Reveal()}},
		Next:    "/admin/applications/clients/" + id, NextText: "Back to the client",
	})
}

func (u *UI) confirmDeleteClient(w http.ResponseWriter, r *http.Request, d *desk) {
	c, err := u.o.Console.Clients.Get(r.Context(), d.team, r.PathValue("client_id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	u.confirm(w, r, d, confirmView{Heading: "Delete client " + c.Name,
		Text:   "The client, its secrets, its tokens, the users' consents to it and its permissions are deleted. Integrations that use it stop working at once. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete client", Danger: true, Cancel: "/admin/applications/clients/" + c.ID})
}

func (u *UI) deleteClient(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Clients.Delete(r.Context(), d.actor, d.team, r.PathValue("client_id")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/applications?deleted=1")
}

// ---- Applications and AppKeys ----

type appRow struct {
	Name    string
	Created when
}

type appsView struct {
	Tabs      appsTabs
	Items     []appRow
	Pager     pager
	Search    form
	Form      form
	CanManage bool
}

// appsPage lists the applications, searched by the start of the name, with
// the form that creates one.
func (u *UI) appsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showApps(w, r, d, http.StatusOK, newForm(nil), "")
}

func (u *UI) showApps(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	q := r.URL.Query()
	as, next, err := u.o.Console.Admin.FindApps(r.Context(), d.team, store.NameFilter{Query: q.Get("q")}, listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	pv := appsView{Tabs: tabs(d, "apps"), Pager: newPager(r, next), Search: newForm(q), Form: f, CanManage: d.may(actManage, resApps)}
	for _, a := range as {
		pv.Items = append(pv.Items, appRow{Name: a.Name, Created: at(a.CreatedAt)})
	}
	v := u.deskView(r, d, "Applications")
	v.Page, v.Error = pv, msg
	if q.Has("deleted") {
		v.Notice = "The application was deleted, with its AppKeys and permissions."
	}
	u.render(w, r, status, "admin_apps", v)
}

func (u *UI) createApp(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	a, err := u.o.Console.Admin.CreateApp(r.Context(), d.actor, d.team, strings.TrimSpace(f.Get("name")))
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showApps(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/applications/apps/"+url.PathEscape(a.Name))
}

// keyRow is a static key in a list: never the key.
type keyRow struct {
	ID, Kind, Owner string
	Created         when
	Age             string
	Expires         *when
	LastUsed        *when
	LastUsedIP      string
	LastUsedUA      string
	MigratedTo      string
}

func (u *UI) keyRow(k statickey.Key) keyRow {
	return keyRow{ID: k.ID, Kind: k.Kind, Owner: k.OwnerName, Created: at(k.CreatedAt), Age: age(u.now(), k.CreatedAt),
		Expires: atPtr(k.ExpiresAt), LastUsed: atPtr(k.LastUsedAt), LastUsedIP: k.LastUsedIP, LastUsedUA: k.LastUsedUA, MigratedTo: k.MigratedTo}
}

type appView struct {
	Name       string
	Keys       []keyRow
	Pager      pager
	CanManage  bool // the application
	CanKeys    bool // its keys
	CanSeeKeys bool
}

// appPage shows an application with its AppKeys, the form that makes one,
// and links to delete them and it.
func (u *UI) appPage(w http.ResponseWriter, r *http.Request, d *desk) {
	name := r.PathValue("name")
	av := appView{Name: name, CanManage: d.may(actManage, resApps), CanKeys: d.may(actManage, resKeys), CanSeeKeys: d.may(actRead, resKeys)}
	// The application must exist whether or not its keys may be read.
	as, _, err := u.o.Console.Admin.FindApps(r.Context(), d.team, store.NameFilter{Query: name}, store.Page{Limit: pageSize})
	if err == nil && !slices.ContainsFunc(as, func(a store.Application) bool { return a.Name == name }) {
		err = notFound("application " + name)
	}
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	if av.CanSeeKeys {
		ks, next, err := u.o.Console.Keys.Find(r.Context(), d.team, statickey.Query{App: name}, listPage(r))
		if err != nil {
			u.failPage(w, r, d, err)
			return
		}
		for _, k := range ks {
			av.Keys = append(av.Keys, u.keyRow(k))
		}
		av.Pager = newPager(r, next)
	}
	v := u.deskView(r, d, "Application "+name)
	v.Page = av
	if r.URL.Query().Has("deleted") {
		v.Notice = "The AppKey was deleted: it stopped working at once."
	}
	u.render(w, r, http.StatusOK, "admin_app", v)
}

// createAppKey makes an AppKey (the admin API's POST /api/admin/keys with
// "app") and shows it once.
func (u *UI) createAppKey(w http.ResponseWriter, r *http.Request, d *desk) {
	name := r.PathValue("name")
	in := statickey.NewKey{Kind: statickey.KindApp, Owner: name}
	if t, ok := u.expiresAt(w, r, d); !ok {
		return
	} else {
		in.ExpiresAt = t
	}
	k, key, err := u.o.Console.Keys.Create(r.Context(), d.actor, d.team, in)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	u.showSecret(w, r, u.deskView(r, d, "AppKey made"), http.StatusCreated, secretView{
		Heading: "New AppKey of " + name,
		Intro:   "Copy the key now and keep it safe: it will not be shown again. Send it as \"Authorization: AppKey <key>\".",
		Fields:  []secretField{{"Key ID", "id", k.ID}, {"AppKey", "key", key.Reveal()}},
		Next:    "/admin/applications/apps/" + url.PathEscape(name), NextText: "Back to the application",
	})
}

// expiresAt reads the optional expires_at of a key form (a date and time
// in UTC, as a datetime-local field sends it, or RFC 3339).
func (u *UI) expiresAt(w http.ResponseWriter, r *http.Request, d *desk) (*time.Time, bool) {
	s := strings.TrimSpace(r.PostForm.Get("expires_at"))
	if s == "" {
		return nil, true
	}
	t, ok := parseTime(s)
	if !ok {
		u.failPage(w, r, d, kernelInvalid("expires_at", "expires_at: want a date and time such as 2026-12-31T23:59"))
		return nil, false
	}
	return &t, true
}

// parseTime reads a time as a datetime-local field sends it (UTC), a
// date, or RFC 3339.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (u *UI) confirmDeleteApp(w http.ResponseWriter, r *http.Request, d *desk) {
	name := r.PathValue("name")
	u.confirm(w, r, d, confirmView{Heading: "Delete application " + name,
		Text:   "The application, its AppKeys and its permissions are deleted. Integrations that use its keys stop working at once. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete application", Danger: true, Cancel: "/admin/applications/apps/" + url.PathEscape(name)})
}

func (u *UI) deleteApp(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Admin.DeleteApp(r.Context(), d.actor, d.team, r.PathValue("name")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/applications/apps?deleted=1")
}
