package webui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// The profile's own forms: the user's name and email, their password, and
// their API keys (the Celonis guide's users make theirs in their
// profile). Each is the profile API's or the admin API's change, made
// with the user as the actor.

// accountView is the profile's part of the forms.
type accountView struct {
	Account  form
	Password form
	Keys     []keyRow
	Pager    pager
	KeyForm  form
}

// profileExtras fills the profile's account forms and the user's keys.
func (u *UI) profileExtras(r *http.Request, s *signedIn, av *accountView) error {
	if av.Account.Values == nil {
		av.Account = newForm(url.Values{"name": {s.user.Name}, "email": {s.user.Email}})
	}
	if av.Password.Errs == nil {
		av.Password = newForm(nil)
	}
	if av.KeyForm.Errs == nil {
		av.KeyForm = newForm(nil)
	}
	if u.o.Console.Keys == nil {
		return nil
	}
	ks, next, err := u.o.Console.Keys.FindOwn(r.Context(), s.user.Team, s.user.ID, listPage(r))
	if err != nil {
		return err
	}
	for _, k := range ks {
		av.Keys = append(av.Keys, u.keyRow(k))
	}
	av.Pager = newPager(r, next)
	return nil
}

// showProfile renders the profile with the forms as given (status and
// msg for a form sent back with its problems).
func (u *UI) showProfile(w http.ResponseWriter, r *http.Request, d *desk, status int, av accountView, msg, notice string) {
	rows, err := u.consents(r.Context(), d.team, d.s.user.ID)
	if err != nil {
		u.unavailable(w, r, "list consents", err)
		return
	}
	sessions, err := u.sessions(r, d.s)
	if err != nil {
		u.unavailable(w, r, "list sessions", err)
		return
	}
	if err := u.profileExtras(r, d.s, &av); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	v := u.deskView(r, d, "Your profile")
	v.Wide = false
	v.Profile = profileView{Consents: rows, Sessions: sessions}
	v.Page, v.Error, v.Notice = av, msg, notice
	u.render(w, r, status, "profile", v)
}

// updateAccount changes the user's own name and email.
func (u *UI) updateAccount(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	name, email := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("email"))
	c := admin.UserChange{Name: &name, Email: &email}
	if _, err := u.o.Console.Admin.UpdateUser(r.Context(), d.actor, d.team, d.s.user.ID, c); err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f.Errs = errs
			u.showProfile(w, r, d, status, accountView{Account: f}, msg, "")
		})
		return
	}
	redirect(w, r, "/profile?saved=1")
}

// changePassword sets the user's password after checking the current one:
// every session of the user ends with it, and this browser signs in anew.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request, d *desk) {
	cur, pw := r.PostForm.Get("current_password"), r.PostForm.Get("password")
	again := func(status int, msg string, errs map[string]string) {
		f := newForm(nil)
		f.Errs = errs
		u.showProfile(w, r, d, status, accountView{Password: f}, msg, "")
	}
	if err := u.o.Passwords.Enter(); err != nil {
		w.Header().Set("Retry-After", "1")
		again(http.StatusServiceUnavailable, "Too many passwords are being checked right now. Please try again in a moment.", nil)
		return
	}
	ok, err := u.o.Passwords.Verify(r.Context(), cur, d.s.user.PasswordHash)
	u.o.Passwords.Leave()
	if err != nil && r.Context().Err() != nil {
		return // the client went away
	}
	if !ok {
		again(http.StatusUnprocessableEntity, "Some fields are not right: see below.",
			map[string]string{"current_password": "This is not your current password."})
		return
	}
	user, err := u.o.Console.Admin.UpdateUser(r.Context(), d.actor, d.team, d.s.user.ID, admin.UserChange{Password: &pw})
	if err != nil {
		u.deskFail(w, r, d, err, again)
		return
	}
	// The store ended every session of the user, this one too: the user
	// who just proved their password goes on in a new one.
	if err := u.startSession(w, r, user); err != nil {
		u.unavailable(w, r, "start session", err)
		return
	}
	redirect(w, r, "/profile?password=1")
}

// createOwnKey makes an API key of the user's own (the profile API's POST
// /api/profile/keys) and shows it once.
func (u *UI) createOwnKey(w http.ResponseWriter, r *http.Request, d *desk) {
	in := statickey.NewKey{Kind: statickey.KindUser, Owner: d.s.user.Email}
	t, ok := u.expiresAt(w, r, d)
	if !ok {
		return
	}
	in.ExpiresAt = t
	k, key, err := u.o.Console.Keys.Create(r.Context(), d.actor, d.team, in)
	if err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			f := newForm(r.PostForm)
			f.Errs = errs
			u.showProfile(w, r, d, status, accountView{KeyForm: f}, msg, "")
		})
		return
	}
	v := u.deskView(r, d, "API key made")
	u.showSecret(w, r, v, http.StatusCreated, secretView{
		Heading: "Your new API key",
		Intro:   "Copy the key now and keep it safe: it will not be shown again. Send it as \"Authorization: Bearer <key>\"; it acts as you, with every scope.",
		Fields:  []secretField{{"Key ID", "id", k.ID}, {"API key", "key", key.Reveal()}},
		Next:    "/profile", NextText: "Back to your profile",
	})
}

func (u *UI) confirmDeleteOwnKey(w http.ResponseWriter, r *http.Request, d *desk) {
	id := r.PathValue("id")
	u.confirm(w, r, d, confirmView{Heading: "Delete your API key",
		Text:   "The key " + id + " stops working at once, on every node. This cannot be undone.",
		Action: r.URL.Path, Button: "Delete key", Danger: true, Cancel: "/profile"})
}

// deleteOwnKey is the profile API's DELETE /api/profile/keys/{id}.
func (u *UI) deleteOwnKey(w http.ResponseWriter, r *http.Request, d *desk) {
	if err := u.o.Console.Keys.DeleteOwn(r.Context(), d.actor, d.team, d.s.user.ID, r.PathValue("id")); err != nil {
		u.failPage(w, r, d, err)
		return
	}
	redirect(w, r, "/profile?key_deleted=1")
}
