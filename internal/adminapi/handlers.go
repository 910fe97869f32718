package adminapi

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// created answers 201 with v and the new record's location.
func created(w http.ResponseWriter, r *http.Request, location string, v any) {
	w.Header().Set("Location", location)
	reply(w, http.StatusCreated, v)
}

// ---- OAuth clients ----

func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "q", "grant_type", "scope")
	if err != nil {
		fail(w, r, err)
		return
	}
	cs, next, err := a.o.Clients.Find(r.Context(), team(r), store.ClientFilter{Query: v.Get("q"), GrantType: v.Get("grant_type"), Scope: v.Get("scope")}, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	now := a.o.Now()
	out := make([]Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, toClient(c, now))
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	var (
		in  client.NewClient
		ttl duration
	)
	if _, err := decode(r, map[string]any{"name": &in.Name, "grant_types": &in.GrantTypes, "auth_method": &in.AuthMethod,
		"scopes": &in.Scopes, "redirect_uris": &in.RedirectURIs, "access_token_ttl": &ttl,
		"id_token_signed_response_alg": &in.IDTokenAlg, "post_logout_redirect_uris": &in.PostLogoutRedirectURIs}); err != nil {
		fail(w, r, err)
		return
	}
	in.AccessTokenTTL = time.Duration(ttl)
	c, sec, err := a.o.Clients.Create(r.Context(), actor(r), team(r), in)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, client.Version(c))
	created(w, r, "/api/admin/clients/"+c.ID, CreatedClient{OAuthClient: toClient(c, a.o.Now()), ClientSecret: sec.Reveal()})
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.o.Clients.Get(r.Context(), team(r), r.PathValue("client_id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, client.Version(c))
	reply(w, http.StatusOK, toClient(c, a.o.Now()))
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	var (
		ch                client.Change
		name              string
		scopes, redirects []string
		idTokenAlg        string
		postLogout        []string
		ttl               duration
		err               error
	)
	if ch.IfVersion, err = ifMatch(r); err != nil {
		fail(w, r, err)
		return
	}
	present, err := decode(r, map[string]any{"name": &name, "scopes": &scopes, "redirect_uris": &redirects, "access_token_ttl": &ttl,
		"id_token_signed_response_alg": &idTokenAlg, "post_logout_redirect_uris": &postLogout})
	if err != nil {
		fail(w, r, err)
		return
	}
	if present["name"] {
		ch.Name = &name
	}
	if present["scopes"] {
		ch.Scopes = &scopes
	}
	if present["redirect_uris"] {
		ch.RedirectURIs = &redirects
	}
	if present["access_token_ttl"] {
		d := time.Duration(ttl)
		ch.AccessTokenTTL = &d
	}
	if present["id_token_signed_response_alg"] {
		ch.IDTokenAlg = &idTokenAlg
	}
	if present["post_logout_redirect_uris"] {
		ch.PostLogoutRedirectURIs = &postLogout
	}
	c, err := a.o.Clients.Update(r.Context(), actor(r), team(r), r.PathValue("client_id"), ch)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, client.Version(c))
	reply(w, http.StatusOK, toClient(c, a.o.Now()))
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Clients.Delete(r.Context(), actor(r), team(r), r.PathValue("client_id")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var grace duration
	if _, err := decode(r, map[string]any{"grace": &grace}); err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("client_id")
	rot, err := a.o.Clients.Rotate(r.Context(), actor(r), team(r), id, time.Duration(grace))
	if err != nil {
		fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, ClientSecret{ClientID: id, ClientSecret: rot.Secret.Reveal(), PreviousSecretExpiresAt: utc(rot.PreviousExpiresAt)})
}

func (a *API) listScopes(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		fail(w, r, err)
		return
	}
	out := []Scope{}
	for _, s := range a.o.Scopes.All() {
		out = append(out, Scope{Name: s.Name, Description: s.Description})
	}
	reply(w, http.StatusOK, listing(out, ""))
}

// ---- Applications ----

func (a *API) listApps(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "q")
	if err != nil {
		fail(w, r, err)
		return
	}
	as, next, err := a.o.Admin.FindApps(r.Context(), team(r), store.NameFilter{Query: v.Get("q")}, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]App, 0, len(as))
	for _, x := range as {
		out = append(out, App{Name: x.Name, CreatedAt: x.CreatedAt.UTC()})
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request) {
	var name string
	if _, err := decode(r, map[string]any{"name": &name}); err != nil {
		fail(w, r, err)
		return
	}
	x, err := a.o.Admin.CreateApp(r.Context(), actor(r), team(r), name)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/apps/"+url.PathEscape(x.Name), App{Name: x.Name, CreatedAt: x.CreatedAt.UTC()})
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Admin.DeleteApp(r.Context(), actor(r), team(r), r.PathValue("name")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- Static keys ----

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "user", "app", "used_before", "used_since")
	if err != nil {
		fail(w, r, err)
		return
	}
	f := statickey.Query{User: v.Get("user"), App: v.Get("app")}
	if f.UsedBefore, err = timeParam(v, "used_before"); err != nil {
		fail(w, r, err)
		return
	}
	if f.UsedSince, err = timeParam(v, "used_since"); err != nil {
		fail(w, r, err)
		return
	}
	ks, next, err := a.o.Keys.Find(r.Context(), team(r), f, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, toKey(k))
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var (
		user, app string
		expires   *time.Time
		in        duration
	)
	present, err := decode(r, map[string]any{"user": &user, "app": &app, "expires_at": &expires, "expires_in": &in})
	if err != nil {
		fail(w, r, err)
		return
	}
	if present["expires_in"] && in <= 0 {
		fail(w, r, badField(http.StatusUnprocessableEntity, "expires_in", "want a positive duration such as \"720h\", or none for a key that does not expire"))
		return
	}
	key := statickey.NewKey{Kind: statickey.KindUser, Owner: user, ExpiresAt: expires, ExpiresIn: time.Duration(in)}
	switch {
	case present["user"] == present["app"]:
		fail(w, r, badField(http.StatusUnprocessableEntity, "user", `give exactly one of "user" (an email) and "app" (an application's name)`))
		return
	case present["app"]:
		key.Kind, key.Owner = statickey.KindApp, app
	}
	k, sec, err := a.o.Keys.Create(r.Context(), actor(r), team(r), key)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/keys/"+k.ID, CreatedKey{Key: toKey(k), Secret: sec.Reveal()})
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Keys.Delete(r.Context(), actor(r), team(r), r.PathValue("id")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, own, err := a.o.Keys.Policy(r.Context(), team(r))
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, statickey.PolicyVersion(p, own))
	reply(w, http.StatusOK, toPolicy(p, own, a.o.Now()))
}

func (a *API) setPolicy(w http.ResponseWriter, r *http.Request) {
	want, err := ifMatch(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	var (
		since, sunset *time.Time
		link          string
		refuseNew     bool
		clear         bool
	)
	present, err := decode(r, map[string]any{"deprecated_since": &since, "sunset_at": &sunset, "link": &link,
		"refuse_new": &refuseNew, "clear": &clear})
	if err != nil {
		fail(w, r, err)
		return
	}
	c := statickey.PolicyChange{Clear: clear, SetDeprecatedSince: present["deprecated_since"], DeprecatedSince: since,
		SetSunsetAt: present["sunset_at"], SunsetAt: sunset, IfVersion: want}
	if present["link"] {
		c.Link = &link
	}
	if present["refuse_new"] {
		c.RefuseNew = &refuseNew
	}
	p, own, err := a.o.Keys.SetPolicy(r.Context(), actor(r), team(r), c)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, statickey.PolicyVersion(p, own))
	reply(w, http.StatusOK, toPolicy(p, own, a.o.Now()))
}

func (a *API) report(w http.ResponseWriter, r *http.Request) {
	_, p, err := listQuery(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	rep, next, err := a.o.Keys.ReportPage(r.Context(), team(r), p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := Report{Policy: toPolicy(rep.Policy, rep.OwnPolicy, a.o.Now()), Items: []Key{}, NextCursor: next}
	for _, k := range rep.Keys {
		key := toKey(k.Key)
		key.Status = k.Status
		out.Items = append(out.Items, key)
	}
	reply(w, http.StatusOK, out)
}

func (a *API) migrate(w http.ResponseWriter, r *http.Request) {
	var method string
	if _, err := decode(r, map[string]any{"auth_method": &method}); err != nil {
		fail(w, r, err)
		return
	}
	var routes []authz.Route
	if a.o.Routes != nil {
		routes = a.o.Routes()
	}
	c, sec, err := a.o.Keys.Migrate(r.Context(), actor(r), team(r), r.PathValue("id"), method, routes)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/clients/"+c.ID, MigratedKey{ClientID: c.ID, ClientSecret: sec.Reveal(), Name: c.Name,
		Scopes: nonNil(c.Scopes), AuthMethod: c.AuthMethod})
}

// ---- Users ----

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "q")
	if err != nil {
		fail(w, r, err)
		return
	}
	us, next, err := a.o.Admin.FindUsers(r.Context(), team(r), store.UserFilter{Query: v.Get("q")}, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]User, 0, len(us))
	for _, u := range us {
		out = append(out, toUser(u))
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var in admin.NewUser
	if _, err := decode(r, map[string]any{"email": &in.Email, "name": &in.Name, "password": &in.Password, "team_admin": &in.TeamAdmin}); err != nil {
		fail(w, r, err)
		return
	}
	u, err := a.o.Admin.CreateUser(r.Context(), actor(r), team(r), in)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, admin.UserVersion(u))
	created(w, r, "/api/admin/users/"+u.ID, toUser(u))
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.o.Admin.User(r.Context(), team(r), r.PathValue("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, admin.UserVersion(u))
	reply(w, http.StatusOK, toUser(u))
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	var (
		c                     admin.UserChange
		email, name, password string
		teamAdmin, disabled   bool
		err                   error
	)
	if c.IfVersion, err = ifMatch(r); err != nil {
		fail(w, r, err)
		return
	}
	present, err := decode(r, map[string]any{"email": &email, "name": &name, "password": &password, "team_admin": &teamAdmin, "disabled": &disabled})
	if err != nil {
		fail(w, r, err)
		return
	}
	if present["email"] {
		c.Email = &email
	}
	if present["name"] {
		c.Name = &name
	}
	if present["password"] {
		c.Password = &password
	}
	if present["team_admin"] {
		c.TeamAdmin = &teamAdmin
	}
	if present["disabled"] {
		c.Disabled = &disabled
	}
	u, err := a.o.Admin.UpdateUser(r.Context(), actor(r), team(r), r.PathValue("id"), c)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, admin.UserVersion(u))
	reply(w, http.StatusOK, toUser(u))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Admin.DeleteUser(r.Context(), actor(r), team(r), r.PathValue("id")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) endSessions(w http.ResponseWriter, r *http.Request) {
	n, err := a.o.Admin.EndSessions(r.Context(), actor(r), team(r), r.PathValue("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, SessionsEnded{SessionsEnded: n})
}

// ---- Groups ----

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "q")
	if err != nil {
		fail(w, r, err)
		return
	}
	gs, next, err := a.o.Admin.FindGroups(r.Context(), team(r), store.NameFilter{Query: v.Get("q")}, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.Members...)
	}
	emails, err := a.o.Admin.Emails(r.Context(), team(r), ids)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]Group, 0, len(gs))
	for _, g := range gs {
		members := []string{}
		for _, id := range g.Members {
			if e, ok := emails[id]; ok {
				members = append(members, e)
			}
		}
		slices.Sort(members)
		out = append(out, Group{Name: g.Name, Members: members, CreatedAt: g.CreatedAt.UTC()})
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	var name string
	if _, err := decode(r, map[string]any{"name": &name}); err != nil {
		fail(w, r, err)
		return
	}
	g, err := a.o.Admin.CreateGroup(r.Context(), actor(r), team(r), name)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/groups/"+url.PathEscape(g.Name), Group{Name: g.Name, Members: []string{}, CreatedAt: g.CreatedAt.UTC()})
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Admin.DeleteGroup(r.Context(), actor(r), team(r), r.PathValue("name")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Admin.AddMember(r.Context(), actor(r), team(r), r.PathValue("name"), r.PathValue("email")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := a.o.Admin.RemoveMember(r.Context(), actor(r), team(r), r.PathValue("name"), r.PathValue("email")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- Permissions ----

func (a *API) listPermissions(w http.ResponseWriter, r *http.Request) {
	v, p, err := listQuery(r, "principal")
	if err != nil {
		fail(w, r, err)
		return
	}
	ps, next, err := a.o.Admin.FindPermissions(r.Context(), team(r), v.Get("principal"), p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]Permission, 0, len(ps))
	for _, x := range ps {
		out = append(out, toPermission(x))
	}
	reply(w, http.StatusOK, listing(out, next))
}

func (a *API) grant(w http.ResponseWriter, r *http.Request) {
	p := store.Permission{Team: team(r)}
	if _, err := decode(r, map[string]any{"principal": &p.Principal, "action": &p.Action, "resource": &p.Resource}); err != nil {
		fail(w, r, err)
		return
	}
	got, err := a.o.Admin.Grant(r.Context(), actor(r), p)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/permissions?principal="+url.QueryEscape(got.Principal), toPermission(got))
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request) {
	v, err := query(r, "principal", "action", "resource")
	if err != nil {
		fail(w, r, err)
		return
	}
	p := store.Permission{Team: team(r), Principal: v.Get("principal"), Action: v.Get("action"), Resource: v.Get("resource")}
	if err := a.o.Admin.Revoke(r.Context(), actor(r), p); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- Signing keys and settings ----

func (a *API) listSigningKeys(w http.ResponseWriter, r *http.Request) {
	if _, _, err := listQuery(r); err != nil {
		fail(w, r, err)
		return
	}
	ks, err := a.o.Signing.Keys(r.Context(), team(r))
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]SigningKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, toSigningKey(k))
	}
	reply(w, http.StatusOK, listing(out, ""))
}

func (a *API) rotateSigningKey(w http.ResponseWriter, r *http.Request) {
	var alg string
	if _, err := decode(r, map[string]any{"alg": &alg}); err != nil {
		fail(w, r, err)
		return
	}
	k, err := a.o.Signing.RotateFor(r.Context(), actor(r), team(r), alg)
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/admin/signing-keys", toSigningKey(k))
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	s, err := a.o.Admin.TeamSettings(r.Context(), team(r))
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, admin.SettingsVersion(s))
	reply(w, http.StatusOK, toSettings(s))
}

func (a *API) updateSettings(w http.ResponseWriter, r *http.Request) {
	var (
		c           admin.TeamSettingsChange
		ttl         duration
		format, alg string
		err         error
	)
	if c.IfVersion, err = ifMatch(r); err != nil {
		fail(w, r, err)
		return
	}
	present, err := decode(r, map[string]any{"access_token_ttl": &ttl, "token_scope_format": &format, "signing_alg": &alg})
	if err != nil {
		fail(w, r, err)
		return
	}
	if present["access_token_ttl"] {
		d := time.Duration(ttl)
		c.AccessTokenTTL = &d
	}
	if present["token_scope_format"] {
		c.ScopeFormat = &format
	}
	if present["signing_alg"] {
		c.SigningAlg = &alg
	}
	s, err := a.o.Admin.SetTeamSettings(r.Context(), actor(r), team(r), c)
	if err != nil {
		fail(w, r, err)
		return
	}
	setETag(w, admin.SettingsVersion(s))
	reply(w, http.StatusOK, toSettings(s))
}
