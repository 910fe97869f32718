package scim

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// userSort is what Users may be sorted by.
var userSort = map[string]store.Field{
	"id": store.FieldUserID, "username": store.FieldUserEmail, "externalid": store.FieldUserExternalID,
	"displayname": store.FieldUserName, "meta.created": store.FieldUserCreated, "meta.lastmodified": store.FieldUserUpdated,
}

// userResource is u as its answer shows it, with its groups.
func (a *API) userResource(r *http.Request, u store.User, ms []store.Membership) object {
	b := base(r)
	return withMeta(userObject(b, u, ms), UserSchema, "User", b+"/Users/"+u.ID, admin.UserVersion(u), u.CreatedAt, u.UpdatedAt)
}

// groupsOf reads the memberships of users, unless p leaves groups out.
func (a *API) groupsOf(r *http.Request, p projection, us []store.User) (map[string][]store.Membership, error) {
	out := map[string][]store.Membership{}
	if !p.wants("groups") || len(us) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	ms, err := a.svc.Memberships(r.Context(), team(r), ids)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.UserID] = append(out[m.UserID], m)
	}
	return out, nil
}

// writeUser answers u with status, its ETag and, on creation, its
// Location.
func (a *API) writeUser(w http.ResponseWriter, r *http.Request, status int, u store.User) {
	p := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"), UserSchema)
	ms, err := a.groupsOf(r, p, []store.User{u})
	if err != nil {
		fail(w, r, err)
		return
	}
	res := a.userResource(r, u, ms[u.ID])
	w.Header().Set("ETag", etag(admin.UserVersion(u)))
	if status == http.StatusCreated {
		w.Header().Set("Location", base(r)+"/Users/"+u.ID)
	}
	reply(w, status, p.apply(res))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	p, err := readList(r, userType, userSort)
	if err != nil {
		fail(w, r, err)
		return
	}
	if p.filter != "" {
		c, err := parseFilter(userFilter, p.filter)
		if err != nil {
			fail(w, r, err)
			return
		}
		p.q.Where = &c
	}
	us, total, err := a.svc.QueryUsers(r.Context(), team(r), p.q)
	if err != nil {
		fail(w, r, err)
		return
	}
	groups, err := a.groupsOf(r, p.proj, us)
	if err != nil {
		fail(w, r, err)
		return
	}
	rs := make([]object, 0, len(us))
	for _, u := range us {
		rs = append(rs, p.proj.apply(a.userResource(r, u, groups[u.ID])))
	}
	reply(w, http.StatusOK, list(total, p.startIndex, rs))
}

// user reads the user of the path's id (an ID only: emails are no ids).
func (a *API) user(r *http.Request) (store.User, error) {
	id := r.PathValue("id")
	if strings.Contains(id, "@") {
		return store.User{}, store.ErrNotFound
	}
	return a.svc.User(r.Context(), team(r), id)
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if notModified(w, r, admin.UserVersion(u)) {
		return
	}
	a.writeUser(w, r, http.StatusOK, u)
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decodeObject(raw, userAttrs, UserSchema)
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := readUser(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	u, err := a.svc.ProvisionUser(r.Context(), actor(r), team(r), admin.NewProvisioned{Email: s.userName, Name: s.displayName,
		ExternalID: s.externalID, GivenName: s.given, FamilyName: s.family, Emails: s.emails, Disabled: !s.active})
	if err != nil {
		fail(w, r, err)
		return
	}
	a.writeUser(w, r, http.StatusCreated, u)
}

// change makes the changes c of the user of the path, against the
// version in If-Match, and answers the user as it is then.
func (a *API) changeUser(w http.ResponseWriter, r *http.Request, u store.User, c admin.UserChange) {
	c.IfVersion = ifMatch(r)
	u, err := a.svc.UpdateUser(r.Context(), actor(r), team(r), u.ID, c)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.writeUser(w, r, http.StatusOK, u)
}

func (a *API) replaceUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decodeObject(raw, userAttrs, UserSchema)
	if err != nil {
		fail(w, r, err)
		return
	}
	if id, ok := o["id"].(string); ok && id != u.ID {
		fail(w, r, bad(typeMutability, "id: %s is not this user's id", quote(id)))
		return
	}
	s, err := readUser(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.changeUser(w, r, u, userChange(u, s))
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	req, err := decodePatch(raw)
	if err != nil {
		fail(w, r, err)
		return
	}
	ms, err := a.groupsOf(r, projection{}, []store.User{u})
	if err != nil {
		fail(w, r, err)
		return
	}
	p := patcher{t: userType, res: userObject(base(r), u, ms[u.ID])}
	if err := p.apply(req.Operations); err != nil {
		fail(w, r, err)
		return
	}
	s, err := readUser(p.res)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.changeUser(w, r, u, userChange(u, s))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := a.svc.DeleteUserVersion(r.Context(), actor(r), team(r), u.ID, ifMatch(r)); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
