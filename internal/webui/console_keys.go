package webui

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// /admin/static-keys: the team's sunset policy, every static key with its
// owner, age and last use (the usage report), the Celonis guide's
// migration as one step per key, and deletion.

type policyView struct {
	Source, Status          string // "team" or "server"; active, deprecated or sunset
	DeprecatedSince, Sunset *when
	Link                    string
	RefuseNew               bool
	Form                    form
}

type staticKeysView struct {
	Policy    policyView
	Items     []keyRow
	Status    string
	Pager     pager
	Search    form
	Form      form // a user's new key
	CanManage bool
}

// dateTimeLocal is a time as a datetime-local field shows it, in UTC.
func dateTimeLocal(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

// staticKeysPage shows the policy and a page of the keys, the keys of a
// user (user, an email) or an application (app), or those not used since
// a time (used_before).
func (u *UI) staticKeysPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showStaticKeys(w, r, d, http.StatusOK, form{}, newForm(nil), "")
}

func (u *UI) showStaticKeys(w http.ResponseWriter, r *http.Request, d *desk, status int, policyForm, keyForm form, msg string) {
	q := r.URL.Query()
	pol, own, err := u.o.Console.Keys.Policy(r.Context(), d.team)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	f := statickey.Query{User: strings.TrimSpace(q.Get("user")), App: strings.TrimSpace(q.Get("app"))}
	if s := q.Get("used_before"); s != "" {
		t, ok := parseTime(s)
		if !ok {
			u.failPage(w, r, d, kernelInvalid("used_before", "used_before: want a date and time such as 2026-01-31T00:00"))
			return
		}
		f.UsedBefore = &t
	}
	ks, next, err := u.o.Console.Keys.Find(r.Context(), d.team, f, listPage(r))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	src := "server"
	if own {
		src = "team"
	}
	if policyForm.Values == nil {
		pv := url.Values{"deprecated_since": {dateTimeLocal(pol.DeprecatedSince)}, "sunset_at": {dateTimeLocal(pol.SunsetAt)}, "link": {pol.Link}}
		if pol.RefuseNew {
			pv.Set("refuse_new", "true")
		}
		policyForm = newForm(pv)
	}
	sv := staticKeysView{Policy: policyView{Source: src, Status: pol.Status(u.now()), DeprecatedSince: atPtr(pol.DeprecatedSince),
		Sunset: atPtr(pol.SunsetAt), Link: pol.Link, RefuseNew: pol.RefuseNew, Form: policyForm},
		Status: pol.Status(u.now()), Pager: newPager(r, next), Search: newForm(q), Form: keyForm, CanManage: d.may(actManage, resKeys)}
	for _, k := range ks {
		sv.Items = append(sv.Items, u.keyRow(k))
	}
	v := u.deskView(r, d, "Static keys")
	v.Page, v.Error = sv, msg
	switch {
	case q.Has("policy"):
		v.Notice = "The policy was saved; every node applies it within a second."
	case q.Has("deleted"):
		v.Notice = "The key was deleted: it stopped working at once."
	}
	u.render(w, r, status, "admin_static_keys", v)
}

// setPolicy is the admin API's PUT /api/admin/static-keys/policy with
// every field of the form, or {"clear": true}.
func (u *UI) setPolicy(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	c := statickey.PolicyChange{SetDeprecatedSince: true, SetSunsetAt: true}
	if f.Get("clear") == "true" {
		c = statickey.PolicyChange{Clear: true}
	} else {
		for _, field := range []struct {
			name string
			dst  **time.Time
		}{{"deprecated_since", &c.DeprecatedSince}, {"sunset_at", &c.SunsetAt}} {
			s := strings.TrimSpace(f.Get(field.name))
			if s == "" {
				continue
			}
			t, ok := parseTime(s)
			if !ok {
				f.Errs[field.name] = "Want a date and time such as 2026-12-31T00:00."
				continue
			}
			*field.dst = &t
		}
		link, refuse := strings.TrimSpace(f.Get("link")), f.Get("refuse_new") == "true"
		c.Link, c.RefuseNew = &link, &refuse
	}
	if len(f.Errs) > 0 {
		u.showStaticKeys(w, r, d, http.StatusUnprocessableEntity, f, newForm(nil), "Some fields are not right: see below.")
		return
	}
	if _, _, err := u.o.Console.Keys.SetPolicy(r.Context(), d.actor, d.team, c); err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showStaticKeys(w, r, d, status, f, newForm(nil), msg)
		})
		return
	}
	redirect(w, r, "/admin/static-keys?policy=1")
}

// createUserKey makes a user API key for a user (the admin API's POST
// /api/admin/keys with "user") and shows it once.
func (u *UI) createUserKey(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	in := statickey.NewKey{Kind: statickey.KindUser, Owner: strings.TrimSpace(f.Get("user"))}
	t, ok := u.expiresAt(w, r, d)
	if !ok {
		return
	}
	in.ExpiresAt = t
	k, key, err := u.o.Console.Keys.Create(r.Context(), d.actor, d.team, in)
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showStaticKeys(w, r, d, status, form{}, f, msg)
		})
		return
	}
	u.showSecret(w, r, u.deskView(r, d, "API key made"), http.StatusCreated, secretView{
		Heading: "New API key of " + k.OwnerName,
		Intro:   "Copy the key now and hand it over safely: it will not be shown again. It is sent as \"Authorization: Bearer <key>\".",
		Fields:  []secretField{{"Key ID", "id", k.ID}, {"API key", "key", key.Reveal()}},
		Next:    "/admin/static-keys", NextText: "Back to the static keys",
	})
}

type migrateView struct {
	Key         keyRow
	AuthMethods []choice
}

// migratePage explains the migration of one key and asks for the new
// client's authentication method.
func (u *UI) migratePage(w http.ResponseWriter, r *http.Request, d *desk) {
	k, err := u.findKey(r, d, r.PathValue("id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	v := u.deskView(r, d, "Migrate a static key")
	v.Wide = false
	v.Page = migrateView{Key: u.keyRow(k), AuthMethods: u.newClientView(form{}).AuthMethods}
	u.render(w, r, http.StatusOK, "admin_migrate", v)
}

// migrate is the admin API's POST /api/admin/static-keys/{id}/migrate:
// the new client's secret is shown once.
func (u *UI) migrate(w http.ResponseWriter, r *http.Request, d *desk) {
	var routes []authz.Route
	if u.o.Console.Routes != nil {
		routes = u.o.Console.Routes()
	}
	method := r.PostForm.Get("auth_method")
	if method == "" {
		method = client.AuthSecretBasic
	}
	c, sec, err := u.o.Console.Keys.Migrate(r.Context(), d.actor, d.team, r.PathValue("id"), method, routes)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	scopes := strings.Join(c.Scopes, " ")
	u.showSecret(w, r, u.deskView(r, d, "Key migrated"), http.StatusCreated, secretView{
		Heading: "Migrated to client " + c.Name,
		Intro: "The client holds the key's owner's permissions and may ask for " + scopes + ". Copy its secret now: it will not be shown again. " +
			"The key keeps working until you delete it or the sunset passes: switch the integration to the client, then delete the key.",
		Fields: []secretField{{"Client ID", "client_id", c.ID}, {"Client secret", "client_secret", sec.Reveal()}},
		Next:   "/admin/applications/clients/" + c.ID, NextText: "Go to the client",
	})
}

// findKey reads the key id with its owner's name.
func (u *UI) findKey(r *http.Request, d *desk, id string) (statickey.Key, error) {
	k, err := u.o.Console.History.Key(r.Context(), d.team, id)
	if err != nil {
		return statickey.Key{}, err
	}
	k.Hash = nil
	name := k.Owner
	if k.Kind == statickey.KindUser {
		emails, err := u.o.Console.Admin.Emails(r.Context(), d.team, []string{k.Owner})
		if err != nil {
			return statickey.Key{}, err
		}
		name = emails[k.Owner]
	}
	return statickey.Key{StaticKey: k, OwnerName: name}, nil
}

func (u *UI) confirmDeleteKey(w http.ResponseWriter, r *http.Request, d *desk) {
	k, err := u.findKey(r, d, r.PathValue("id"))
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	back := "/admin/static-keys"
	if k.Kind == statickey.KindApp && r.URL.Query().Get("from") == "app" {
		back = "/admin/applications/apps/" + url.PathEscape(k.OwnerName)
	}
	u.confirm(w, r, d, confirmView{Heading: "Delete a static key",
		Text:   "The " + kindName(k.Kind) + " " + k.ID + " of " + k.OwnerName + " stops working at once, on every node. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete key", Danger: true, Hidden: []hidden{{"back", back}}, Cancel: back})
}

func kindName(kind string) string {
	if kind == statickey.KindApp {
		return "AppKey"
	}
	return "user API key"
}

func (u *UI) deleteKey(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Keys.Delete(r.Context(), d.actor, d.team, r.PathValue("id")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	back := r.PostForm.Get("back")
	if !strings.HasPrefix(back, "/admin/") || safeReturn(back) == "" {
		back = "/admin/static-keys"
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	redirect(w, r, back+sep+"deleted=1")
}
