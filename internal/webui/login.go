package webui

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The one answer to a failed sign-in, whatever failed: it never tells
// whether the account exists.
const badCredentials = "The email address or the password is not right."

// ServeLoginPage is GET /login: the sign-in form, its email pre-filled
// with login_hint (OpenID Connect's, passed on by /oauth2/authorize). A
// signed-in user goes on to return_to (a path on this host) or the
// profile, unless reauth asks for the sign-in again (OpenID Connect's
// prompt=login, max_age, id_token_hint).
func (u *UI) ServeLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo := safeReturn(q.Get("return_to"))
	v := view{ReturnTo: returnTo, Email: loginHint(q.Get("login_hint"))}
	switch s, err := u.signedIn(r); {
	case err == nil && q.Get("reauth") != "":
		v.Notice = "The application asks you to sign in again."
		if v.Email == "" {
			v.Email = s.user.Email
		}
	case err == nil:
		redirect(w, r, orProfile(returnTo))
		return
	case !errors.Is(err, errNoSession):
		u.unavailable(w, r, "read session", err)
		return
	}
	u.loginForm(w, r, http.StatusOK, v)
}

// loginHint is a login_hint that the form can show: an email-sized string
// of printable characters, else "".
func loginHint(h string) string {
	if len(h) > kernel.MaxEmail || strings.ContainsFunc(h, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }) {
		return ""
	}
	return h
}

func orProfile(returnTo string) string {
	if returnTo == "" {
		return "/profile"
	}
	return returnTo
}

// loginForm renders the sign-in form with its CSRF token.
func (u *UI) loginForm(w http.ResponseWriter, r *http.Request, status int, v view) {
	nonce, err := u.loginNonce(w, r)
	if err != nil {
		u.unavailable(w, r, "login nonce", err)
		return
	}
	v.Title, v.FormCSRF = "Sign in", u.loginToken(r, nonce)
	u.render(w, r, status, "login", v)
}

// ServeLogin is POST /login. Every attempt goes to the login history,
// except those a limit refuses. Failures are limited per account and per
// IP, and an attempt takes a unit of both allowances before anything is
// checked (ratelimit.Take, then Confirm, which reserves it in the
// database for every node): attempts made at once cannot all be checked,
// and once the allowances are spent, or held by attempts under way,
// further attempts get 429 with Retry-After at once. A success gives its
// units back; an incomplete form spends the IP's. A refused attempt
// writes nothing of its own: it is counted, and one audit event per
// account or address and minute gives the count. An unknown email costs
// the same Argon2id work as a wrong password and gets the same answer.
// Argon2id takes 64 MiB per check, so only a few run at once, and only a
// few more wait: when the line is full the answer is 503 with Retry-After
// at once, without any work.
func (u *UI) ServeLogin(w http.ResponseWriter, r *http.Request) {
	if !u.sameOrigin(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		u.message(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read.", true, view{Link: "/login", LinkText: "Try again"})
		return
	}
	f := r.PostForm
	returnTo := safeReturn(f.Get("return_to"))
	if !u.validLoginToken(r, f.Get("csrf_token")) {
		u.forbidden(w, r, nil)
		return
	}
	ctx := r.Context()
	info := edge.RequestInfo(r)
	team := info.Team.Name
	email := strings.ToLower(strings.TrimSpace(f.Get("email")))
	password := f.Get("password")
	// The history, the page and the limiter's key hold a bounded email:
	// no account has a longer one (kernel.NormalizeEmail).
	shown := kernel.Clip(email, kernel.MaxEmail)
	ev := store.LoginEvent{Team: team, At: u.now().UTC(), Email: shown, IP: kernel.Clip(edge.ClientIP(r), kernel.MaxIP),
		UserAgent: kernel.Clip(r.UserAgent(), kernel.MaxUserAgent)}
	retry := view{ReturnTo: returnTo, Email: shown}
	// An incomplete form is counted against the address alone: else it
	// would write history without bound.
	complete := email != "" && password != ""

	// The address first: one key for an address that tries many accounts.
	asks := []ratelimit.Ask{{Budget: u.o.IPLimit, Key: ratelimit.Key{Name: ev.IP}}}
	if complete {
		asks = append(asks, ratelimit.Ask{Budget: u.o.AccountLimit, Key: ratelimit.Key{Team: team, Name: shown}})
	}
	att, refused := ratelimit.Take(r.Context(), asks...)
	if refused != nil {
		u.throttled(w, r, refused, ev, returnTo)
		return
	}
	if complete {
		// A place in the line of password checks, or 503 at once.
		if err := u.o.Passwords.Enter(); err != nil {
			u.giveBack(r, att)
			w.Header().Set("Retry-After", "1")
			u.message(w, r, http.StatusServiceUnavailable, "Try again shortly",
				"Too many sign-ins are being checked right now. Please try again in a moment.", true,
				view{Link: loginURL(returnTo), LinkText: "Back to sign-in"})
			return
		}
		defer u.o.Passwords.Leave()
	}
	refused, err := att.Confirm(ctx)
	if err != nil {
		u.unavailable(w, r, "sign-in limits", err)
		return
	}
	if refused != nil {
		u.throttled(w, r, refused, ev, returnTo)
		return
	}

	if !complete {
		att.Fail(ctx)
		if err := u.record(r, ev, "incomplete form", ""); err != nil {
			u.unavailable(w, r, "audit sign-in", err)
			return
		}
		retry.Error = "Enter your email address and your password."
		u.loginForm(w, r, http.StatusBadRequest, retry)
		return
	}

	user, err := u.o.Users.UserByEmail(ctx, team, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		u.giveBack(r, att)
		u.unavailable(w, r, "read user", err)
		return
	}
	hash := "" // no such user: the same work, against a hash nothing matches
	if known {
		hash = user.PasswordHash
	}
	ok, err := u.o.Passwords.Verify(ctx, password, hash)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			u.giveBack(r, att) // the client gave up waiting: nothing was checked
			return
		}
		info.Log.Error("verify password: the stored hash is unusable", "user_id", user.ID, "err", err)
	}

	reason := ""
	switch {
	case !known:
		reason = "no such user"
	case !ok:
		reason = "bad password"
	case user.Disabled:
		reason = "disabled"
	}
	if reason != "" {
		att.Fail(ctx)
		ev.UserID = user.ID
		if err := u.record(r, ev, reason, user.ID); err != nil {
			u.unavailable(w, r, "audit sign-in", err)
			return
		}
		retry.Error = badCredentials
		if reason == "disabled" {
			// Only someone who knows the password learns this.
			retry.Error = "This account is disabled. Ask an administrator of " + team + " to enable it."
		}
		u.loginForm(w, r, http.StatusBadRequest, retry)
		return
	}
	u.giveBack(r, att)
	// Recorded before the session starts: no one is signed in unaudited.
	ev.UserID, ev.Success = user.ID, true
	if err := u.record(r, ev, "", user.ID); err != nil {
		u.unavailable(w, r, "audit sign-in", err)
		return
	}
	// A sign-in in a browser that has a session already (asked again by
	// an application, or as another user) replaces that session: it ends
	// in the store, not only in the cookie.
	switch prev, err := u.signedIn(r); {
	case err == nil:
		if err := u.o.Sessions.End(ctx, team, prev.sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			u.unavailable(w, r, "end the previous session", err)
			return
		}
	case !errors.Is(err, errNoSession):
		u.unavailable(w, r, "read session", err)
		return
	}
	if err := u.startSession(w, r, user); err != nil {
		u.unavailable(w, r, "start session", err)
		return
	}
	http.SetCookie(w, u.cookie(u.loginCk, "", -1))
	redirect(w, r, orProfile(returnTo))
}

// throttled answers an attempt that a limit refused: 429 with Retry-After,
// and a count in the tally of refusals instead of a record of its own.
func (u *UI) throttled(w http.ResponseWriter, r *http.Request, refused *ratelimit.Refused, ev store.LoginEvent, returnTo string) {
	limit, target := "account", "user:"+ev.Email
	if refused.Ask.Budget == u.o.IPLimit {
		limit, target = "ip", "ip:"+ev.IP
	}
	u.o.Refusals.Add(ratelimit.Refusal{Team: ev.Team, Action: "login.throttled", Limit: limit, Target: target,
		IP: ev.IP, UserAgent: ev.UserAgent})
	retryAfter(w, refused.RetryAfter)
	u.message(w, r, http.StatusTooManyRequests, "Too many attempts",
		"There were too many failed sign-in attempts. Wait a few minutes and try again.", true,
		view{Link: loginURL(returnTo), LinkText: "Back to sign-in"})
}

// giveBack returns the units of an attempt that succeeded or was never
// checked. One the database cannot take back counts as a failure until its
// window ends: logged, not fatal.
func (u *UI) giveBack(r *http.Request, att *ratelimit.Attempt) {
	if err := att.Refund(r.Context()); err != nil {
		edge.RequestInfo(r).Log.Warn("sign-in limits: give back", "err", err)
	}
}

// record writes a login attempt to the login history and its audit event.
// An error is the audit trail's: the attempt must then be answered 503.
func (u *UI) record(r *http.Request, ev store.LoginEvent, reason, userID string) error {
	info := edge.RequestInfo(r)
	ev.Reason = reason
	if err := u.o.Users.AppendLogin(r.Context(), ev); err != nil {
		info.Log.Error("append login history", "err", err)
	}
	action, actor := "login.failure", "anonymous"
	if ev.Success {
		action = "login.success"
	}
	if userID != "" {
		actor = "user:" + ev.Email
	}
	detail := map[string]string{}
	if reason != "" {
		detail["reason"] = reason
	}
	return u.o.Audit.Add(kernel.Event(kernel.Actor{ID: actor, IP: ev.IP, UserAgent: ev.UserAgent}, ev.At, ev.Team, action, "user:"+ev.Email, detail))
}

// ServeLogout is POST /logout: the session ends in the store, so that a
// copy of its cookie is refused on every node from then on, and the
// cookie goes. The form carries the session's CSRF token, so that no other
// site can sign a user out. If the session cannot be ended (the store does
// not answer), the answer is the 503 page and the cookie stays: the user
// is not told they signed out while the session lives on.
func (u *UI) ServeLogout(w http.ResponseWriter, r *http.Request) {
	if !u.sameOrigin(w, r) {
		return
	}
	s, err := u.signedIn(r)
	switch {
	case errors.Is(err, errNoSession):
		u.endSession(w)
		redirect(w, r, "/login")
		return
	case err != nil:
		u.unavailable(w, r, "read session", err)
		return
	}
	if err := r.ParseForm(); err != nil || !u.validSessionToken(r, s.sess, r.PostForm.Get("csrf_token")) {
		u.forbidden(w, r, s)
		return
	}
	if err := u.o.Audit.Add(kernel.Event(userActor(r, s.user), u.now().UTC(), s.user.Team, "logout", "user:"+s.user.Email, nil)); err != nil {
		u.unavailable(w, r, "audit sign-out", err)
		return
	}
	if err := u.o.Sessions.End(r.Context(), s.user.Team, s.sess.ID); err != nil {
		u.unavailable(w, r, "end session", err)
		return
	}
	u.endSession(w)
	redirect(w, r, "/login")
}

// ServeLogoutEverywhere is POST /profile/sessions/revoke, the profile's
// "Sign out everywhere": every session of the user ends, this one too, on
// every node at once (audited as logout.everywhere). As for a sign-out,
// a store that does not answer gets the 503 page and ends nothing.
func (u *UI) ServeLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
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
	if err := u.o.Audit.Add(kernel.Event(userActor(r, s.user), u.now().UTC(), s.user.Team, "logout.everywhere", "user:"+s.user.Email, nil)); err != nil {
		u.unavailable(w, r, "audit sign-out", err)
		return
	}
	if _, err := u.o.Sessions.EndAll(r.Context(), s.user.Team, s.user.ID); err != nil {
		u.unavailable(w, r, "end sessions", err)
		return
	}
	u.endSession(w)
	redirect(w, r, "/login")
}
