package webui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// /admin/users, /admin/groups and /admin/permissions.

type userRow struct {
	ID, Email, Name     string
	TeamAdmin, Disabled bool
	Created             when
}

func toUserRow(u store.User) userRow {
	return userRow{ID: u.ID, Email: u.Email, Name: u.Name, TeamAdmin: u.TeamAdmin, Disabled: u.Disabled, Created: at(u.CreatedAt)}
}

type usersView struct {
	Items     []userRow
	Pager     pager
	Search    form
	Form      form
	CanManage bool
}

// usersPage lists the users by email, searched by the start of the email
// or the name, with the form that creates one.
func (u *UI) usersPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showUsers(w, r, d, http.StatusOK, newForm(nil), "")
}

func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	q := r.URL.Query()
	us, next, err := u.o.Console.Admin.FindUsers(r.Context(), d.team, store.UserFilter{Query: q.Get("q")}, listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	pv := usersView{Pager: newPager(r, next), Search: newForm(q), Form: f, CanManage: d.may(actManage, resUsers)}
	for _, x := range us {
		pv.Items = append(pv.Items, toUserRow(x))
	}
	v := u.deskView(r, d, "Users")
	v.Page, v.Error = pv, msg
	if q.Has("deleted") {
		v.Notice = "The user was deleted, with their keys, memberships and permissions."
	}
	u.render(w, r, status, "admin_users", v)
}

func (u *UI) createUser(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	in := admin.NewUser{Email: strings.TrimSpace(f.Get("email")), Name: strings.TrimSpace(f.Get("name")), Password: f.Get("password"),
		TeamAdmin: f.Get("team_admin") == "true"}
	x, err := u.o.Console.Admin.CreateUser(r.Context(), d.actor, d.team, in)
	if err != nil {
		f.Values.Del("password") // never sent back
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showUsers(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/users/"+x.ID+"?created=1")
}

type userView struct {
	User      userRow
	Version   string
	Form      form
	Password  form
	CanManage bool
}

// userPage shows a user with the form that changes them (email, name, team
// admin, disabled), the one that sets a password, and links to end their
// sessions and to delete them.
func (u *UI) userPage(w http.ResponseWriter, r *http.Request, d *desk) {
	x, err := u.o.Console.Admin.User(r.Context(), d.team, r.PathValue("id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	notice := ""
	switch q := r.URL.Query(); {
	case q.Has("created"):
		notice = "The user was created."
	case q.Has("saved"):
		notice = "Your changes were saved."
	case q.Has("password"):
		notice = "The password was set; the user's sessions ended."
	case q.Has("sessions"):
		notice = "Every session of the user ended."
	}
	u.showUser(w, r, d, http.StatusOK, x, userForm(x), newForm(nil), "", notice)
}

func userForm(x store.User) form {
	v := url.Values{"email": {x.Email}, "name": {x.Name}}
	if x.TeamAdmin {
		v.Set("team_admin", "true")
	}
	if x.Disabled {
		v.Set("disabled", "true")
	}
	return newForm(v)
}

func (u *UI) showUser(w http.ResponseWriter, r *http.Request, d *desk, status int, x store.User, f, pw form, msg, notice string) {
	v := u.deskView(r, d, "User "+x.Email)
	v.Page = userView{User: toUserRow(x), Version: admin.UserVersion(x), Form: f, Password: pw, CanManage: d.may(actManage, resUsers)}
	v.Error, v.Notice = msg, notice
	u.render(w, r, status, "admin_user", v)
}

// updateUser is the admin API's PATCH /api/admin/users/{id}, made only if
// the user is still as the page showed them (its version).
func (u *UI) updateUser(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	email, name := strings.TrimSpace(f.Get("email")), strings.TrimSpace(f.Get("name"))
	teamAdmin, disabled := f.Get("team_admin") == "true", f.Get("disabled") == "true"
	c := admin.UserChange{Email: &email, Name: &name, TeamAdmin: &teamAdmin, Disabled: &disabled, IfVersion: f.Get("version")}
	x, err := u.o.Console.Admin.UpdateUser(r.Context(), d.actor, d.team, r.PathValue("id"), c)
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			cur, err := u.o.Console.Admin.User(r.Context(), d.team, r.PathValue("id"))
			if err != nil {
				u.failPage(w, r, d, err)
				return
			}
			if status == http.StatusPreconditionFailed {
				f = userForm(cur) // show what is there now
			}
			f.Errs = errs
			u.showUser(w, r, d, status, cur, f, newForm(nil), msg, "")
		})
		return
	}
	redirect(w, r, "/admin/users/"+x.ID+"?saved=1")
}

// setUserPassword sets a user's password: their sessions end.
func (u *UI) setUserPassword(w http.ResponseWriter, r *http.Request, d *desk) {
	pw := r.PostForm.Get("password")
	x, err := u.o.Console.Admin.UpdateUser(r.Context(), d.actor, d.team, r.PathValue("id"), admin.UserChange{Password: &pw})
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			cur, err := u.o.Console.Admin.User(r.Context(), d.team, r.PathValue("id"))
			if err != nil {
				u.failPage(w, r, d, err)
				return
			}
			f := newForm(nil)
			f.Errs = errs
			u.showUser(w, r, d, status, cur, userForm(cur), f, msg, "")
		})
		return
	}
	redirect(w, r, "/admin/users/"+x.ID+"?password=1")
}

func (u *UI) confirmEndSessions(w http.ResponseWriter, r *http.Request, d *desk) {
	x, err := u.o.Console.Admin.User(r.Context(), d.team, r.PathValue("id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	u.confirm(w, r, d, confirmView{Heading: "Sign out " + x.Email + " everywhere",
		Text:   "Every web session of the user ends at once, on every node. Their keys and tokens are not affected.",
		Action: r.URL.Path, Button: "End every session", Danger: true, Cancel: "/admin/users/" + x.ID})
}

func (u *UI) endSessions(w http.ResponseWriter, r *http.Request, d *desk) {
	id := r.PathValue("id")
	if _, err := u.o.Console.Admin.EndSessions(r.Context(), d.actor, d.team, id); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?sessions=1")
}

func (u *UI) confirmDeleteUser(w http.ResponseWriter, r *http.Request, d *desk) {
	x, err := u.o.Console.Admin.User(r.Context(), d.team, r.PathValue("id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	u.confirm(w, r, d, confirmView{Heading: "Delete user " + x.Email,
		Text:   "The user, their API keys, their group memberships, their consents and their permissions are deleted, and their sessions end. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete user", Danger: true, Cancel: "/admin/users/" + x.ID})
}

func (u *UI) deleteUser(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Admin.DeleteUser(r.Context(), d.actor, d.team, r.PathValue("id")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/users?deleted=1")
}

// ---- Groups ----

type groupRow struct {
	Name    string
	Members []string // emails
	Created when
}

type groupsView struct {
	Items     []groupRow
	Pager     pager
	Search    form
	Form      form
	CanManage bool
}

// groupRows reads a page of groups with their members' emails.
func (u *UI) groupRows(r *http.Request, d *desk, gs []store.Group) ([]groupRow, error) {
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.Members...)
	}
	emails, err := u.o.Console.Admin.Emails(r.Context(), d.team, ids)
	if err != nil {
		return nil, err
	}
	out := make([]groupRow, 0, len(gs))
	for _, g := range gs {
		row := groupRow{Name: g.Name, Created: at(g.CreatedAt)}
		for _, id := range g.Members {
			if e, ok := emails[id]; ok {
				row.Members = append(row.Members, e)
			}
		}
		slices.Sort(row.Members)
		out = append(out, row)
	}
	return out, nil
}

// groupsPage lists the groups by name with their members, searched by the
// start of the name, with the form that creates one.
func (u *UI) groupsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showGroups(w, r, d, http.StatusOK, newForm(nil), "")
}

func (u *UI) showGroups(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	q := r.URL.Query()
	gs, next, err := u.o.Console.Admin.FindGroups(r.Context(), d.team, store.NameFilter{Query: q.Get("q")}, listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	rows, err := u.groupRows(r, d, gs)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	v := u.deskView(r, d, "Groups")
	v.Page = groupsView{Items: rows, Pager: newPager(r, next), Search: newForm(q), Form: f, CanManage: d.may(actManage, resGroups)}
	v.Error = msg
	if q.Has("deleted") {
		v.Notice = "The group was deleted, with its memberships and permissions."
	}
	u.render(w, r, status, "admin_groups", v)
}

func (u *UI) createGroup(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	g, err := u.o.Console.Admin.CreateGroup(r.Context(), d.actor, d.team, strings.TrimSpace(f.Get("name")))
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showGroups(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/groups/"+url.PathEscape(g.Name))
}

type groupView struct {
	Group     groupRow
	Form      form
	CanManage bool
}

// group reads one group by name.
func (u *UI) group(r *http.Request, d *desk, name string) (groupRow, error) {
	gs, _, err := u.o.Console.Admin.FindGroups(r.Context(), d.team, store.NameFilter{Query: name}, store.Page{Limit: pageSize})
	if err != nil {
		return groupRow{}, err
	}
	gs = slices.DeleteFunc(gs, func(g store.Group) bool { return g.Name != name })
	if len(gs) == 0 {
		return groupRow{}, notFound("group " + name)
	}
	rows, err := u.groupRows(r, d, gs)
	if err != nil {
		return groupRow{}, err
	}
	return rows[0], nil
}

// groupPage shows a group's members with the form that adds one and links
// that remove one or delete the group.
func (u *UI) groupPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showGroup(w, r, d, http.StatusOK, newForm(nil), "")
}

func (u *UI) showGroup(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	g, err := u.group(r, d, r.PathValue("name"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	v := u.deskView(r, d, "Group "+g.Name)
	v.Page, v.Error = groupView{Group: g, Form: f, CanManage: d.may(actManage, resGroups)}, msg
	switch q := r.URL.Query(); {
	case q.Has("added"):
		v.Notice = "The member was added."
	case q.Has("removed"):
		v.Notice = "The member was removed."
	}
	u.render(w, r, status, "admin_group", v)
}

func (u *UI) addMember(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	name := r.PathValue("name")
	if err := u.o.Console.Admin.AddMember(r.Context(), d.actor, d.team, name, strings.TrimSpace(f.Get("email"))); err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showGroup(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/groups/"+url.PathEscape(name)+"?added=1")
}

func (u *UI) confirmRemoveMember(w http.ResponseWriter, r *http.Request, d *desk) {
	name, email := r.PathValue("name"), r.PathValue("email")
	u.confirm(w, r, d, confirmView{Heading: "Remove " + email + " from " + name,
		Text:   "The user loses the group's permissions at once, on every node.",
		Action: r.URL.Path, Button: "Remove member", Danger: true, Cancel: "/admin/groups/" + url.PathEscape(name)})
}

func (u *UI) removeMember(w http.ResponseWriter, r *http.Request, d *desk) {
	name := r.PathValue("name")
	if err := u.o.Console.Admin.RemoveMember(r.Context(), d.actor, d.team, name, r.PathValue("email")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/groups/"+url.PathEscape(name)+"?removed=1")
}

func (u *UI) confirmDeleteGroup(w http.ResponseWriter, r *http.Request, d *desk) {
	name := r.PathValue("name")
	u.confirm(w, r, d, confirmView{Heading: "Delete group " + name,
		Text:   "The group, its memberships and its permissions are deleted; its members lose those permissions at once. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete group", Danger: true, Cancel: "/admin/groups/" + url.PathEscape(name)})
}

func (u *UI) deleteGroup(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Admin.DeleteGroup(r.Context(), d.actor, d.team, r.PathValue("name")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/groups?deleted=1")
}

// ---- Permissions ----

type permissionRow struct {
	Principal, Action, Resource string
	Created                     when
	Revoke                      string // the confirmation's URL
}

type permissionsView struct {
	Items     []permissionRow
	Pager     pager
	Search    form
	Form      form
	CanManage bool
}

// permissionsPage lists the permissions by principal, one principal's
// when searched, with the form that grants one and the resource syntax.
func (u *UI) permissionsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(nil)
	if p := r.URL.Query().Get("principal"); p != "" {
		f.Values = url.Values{"principal": {p}}
	}
	u.showPermissions(w, r, d, http.StatusOK, f, "")
}

func (u *UI) showPermissions(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	q := r.URL.Query()
	ps, next, err := u.o.Console.Admin.FindPermissions(r.Context(), d.team, strings.TrimSpace(q.Get("principal")), listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	pv := permissionsView{Pager: newPager(r, next), Search: newForm(q), Form: f, CanManage: d.may(actManage, resPermissions)}
	for _, p := range ps {
		rv := url.Values{"principal": {p.Principal}, "action": {p.Action}, "resource": {p.Resource}}
		pv.Items = append(pv.Items, permissionRow{Principal: p.Principal, Action: p.Action, Resource: p.Resource, Created: at(p.CreatedAt),
			Revoke: "/admin/permissions/revoke?" + rv.Encode()})
	}
	v := u.deskView(r, d, "Permissions")
	v.Page, v.Error = pv, msg
	switch {
	case q.Has("granted"):
		v.Notice = "The permission was granted; it applies at once, to tokens already issued too."
	case q.Has("revoked"):
		v.Notice = "The permission was revoked; it stops at once, for tokens already issued too."
	}
	u.render(w, r, status, "admin_permissions", v)
}

// grant is the admin API's POST /api/admin/permissions.
func (u *UI) grant(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	p := store.Permission{Team: d.team, Principal: strings.TrimSpace(f.Get("principal")), Action: strings.TrimSpace(f.Get("action")),
		Resource: strings.TrimSpace(f.Get("resource"))}
	got, err := u.o.Console.Admin.Grant(r.Context(), d.actor, p)
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showPermissions(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/permissions?granted=1&principal="+url.QueryEscape(got.Principal))
}

func (u *UI) confirmRevoke(w http.ResponseWriter, r *http.Request, d *desk) {
	q := r.URL.Query()
	p, a, res := q.Get("principal"), q.Get("action"), q.Get("resource")
	u.confirm(w, r, d, confirmView{Heading: "Revoke a permission",
		Text:   "Revoke " + a + " on " + res + " from " + p + "? It stops at once, on every node, for tokens already issued too.",
		Action: "/admin/permissions/revoke", Button: "Revoke permission", Danger: true,
		Hidden: []hidden{{"principal", p}, {"action", a}, {"resource", res}},
		Cancel: "/admin/permissions?principal=" + url.QueryEscape(p)})
}

// revokePermission is the admin API's DELETE /api/admin/permissions.
func (u *UI) revokePermission(w http.ResponseWriter, r *http.Request, d *desk) {
	f := r.PostForm
	p := store.Permission{Team: d.team, Principal: f.Get("principal"), Action: f.Get("action"), Resource: f.Get("resource")}
	if err := u.o.Console.Admin.Revoke(r.Context(), d.actor, p); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/admin/permissions?revoked=1&principal="+url.QueryEscape(p.Principal))
}
