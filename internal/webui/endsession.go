package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/store"
)

// logoutView is what the sign-out confirmation page shows.
type logoutView struct {
	Client string  // the client's name, "" when no client is known
	Params []param // the request, sent back with the confirmation
}

// logoutRequest is an RP-initiated logout request, checked.
type logoutRequest struct {
	hint *oidc.Hint // a good id_token_hint, else nil
	// client is the client that asks: named by client_id or by the hint.
	client *store.Client
	// redirect is a post_logout_redirect_uri registered on client, "" for
	// none; state goes back with it.
	redirect, state string
}

// ServeEndSession is GET and POST /oauth2/logout, OpenID Connect
// RP-Initiated Logout 1.0: a client sends the user here to sign out of
// the team, with id_token_hint (an ID token it got, naming the user),
// client_id, post_logout_redirect_uri (registered on the client, matched
// exactly) and state. The user's session ends in the store, so that every
// node refuses it at once; the browser then goes to the redirect URI with
// state, or sees that it signed out.
//
// When the hint is missing, is not an ID token this team issued, or names
// another user than the one signed in, the user is asked first (section
// 2): a page whose form posts back here with the session's CSRF token.
// A cross-site POST carries no session cookie (SameSite=Lax), so a POST
// without the confirmation is sent on as a GET, which does.
func (u *UI) ServeEndSession(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			u.message(w, r, http.StatusBadRequest, "Cannot sign out", "The form could not be read.", true, view{})
			return
		}
		p = r.PostForm
		if p.Get("confirm") == "" {
			redirect(w, r, "/oauth2/logout?"+logoutParams(p).Encode())
			return
		}
	}
	req, problem, err := u.parseLogout(r, p)
	switch {
	case err != nil:
		u.unavailable(w, r, "check logout request", err)
		return
	case problem != "":
		u.message(w, r, http.StatusBadRequest, "This sign-out request cannot continue",
			"The application sent a sign-out request that is not valid here: "+problem+". Tell the application's developers.", true, view{})
		return
	}
	s, err := u.signedIn(r)
	switch {
	case errors.Is(err, errNoSession):
		u.signedOut(w, r, req) // nothing to end
		return
	case err != nil:
		u.unavailable(w, r, "read session", err)
		return
	}
	confirmed := r.Method == http.MethodPost && p.Get("confirm") == "yes"
	if confirmed && !u.validSessionToken(r, s.sess, p.Get("csrf_token")) {
		u.forbidden(w, r, s)
		return
	}
	if !confirmed && (req.hint == nil || req.hint.Subject != s.user.ID) {
		u.confirmLogout(w, r, req, s)
		return
	}
	detail := map[string]string{"via": "oidc"}
	if req.client != nil {
		detail["client_id"] = req.client.ID
	}
	if err := u.o.Audit.Add(kernel.Event(userActor(r, s.user), u.now().UTC(), s.user.Team, "logout", "user:"+s.user.Email, detail)); err != nil {
		u.unavailable(w, r, "audit sign-out", err)
		return
	}
	if err := u.o.Sessions.End(r.Context(), s.user.Team, s.sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		u.unavailable(w, r, "end session", err)
		return
	}
	u.endSession(w)
	u.signedOut(w, r, req)
}

// logoutParams are the parameters of a logout request that are passed on.
func logoutParams(p url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"} {
		if v, ok := p[k]; ok {
			out[k] = v
		}
	}
	return out
}

// parseLogout checks a logout request's parameters: problem says what is
// wrong with one that cannot continue (for the page; nobody is
// redirected), err is a failure to read the keys or the client.
//
// A hint that is not an ID token of this team is taken as no hint (the
// user is asked). The client is the one client_id names, else the
// hint's; when both are given they must agree. A redirect URI must be one
// the client registered; one sent without any way to tell the client is
// dropped, and the user stays here.
func (u *UI) parseLogout(r *http.Request, p url.Values) (req logoutRequest, problem string, err error) {
	for k, v := range p {
		if len(v) > 1 {
			return req, "parameter " + k + " is repeated", nil
		}
	}
	ctx := r.Context()
	info := edge.RequestInfo(r)
	team := info.Team.Name
	if raw := p.Get("id_token_hint"); raw != "" {
		h, err := oidc.CheckHint(ctx, u.o.IDTokens, team, info.TeamURL, raw)
		switch {
		case err == nil:
			req.hint = &h
		case !errors.Is(err, oidc.ErrBadHint):
			return req, "", err
		}
	}
	clientID := p.Get("client_id")
	if req.hint != nil {
		switch {
		case clientID != "" && !req.hint.For(clientID):
			return req, "client_id is not the client the id_token_hint was issued to", nil
		case clientID == "" && len(req.hint.Audience) == 1:
			clientID = req.hint.Audience[0]
		}
	}
	if clientID != "" {
		c, err := u.o.Clients.Client(ctx, team, clientID)
		switch {
		case err == nil:
			req.client = &c
		case errors.Is(err, store.ErrNotFound):
			if p.Has("client_id") {
				return req, "no such client is registered in this team", nil
			}
		default:
			return req, "", err
		}
	}
	if to := p.Get("post_logout_redirect_uri"); to != "" && req.client != nil {
		if !slices.Contains(req.client.PostLogoutRedirectURIs, to) {
			return req, "the post_logout_redirect_uri is not one that the client " + req.client.Name + " registered", nil
		}
		req.redirect, req.state = to, p.Get("state")
	}
	return req, "", nil
}

// confirmLogout asks the signed-in user whether to sign out.
func (u *UI) confirmLogout(w http.ResponseWriter, r *http.Request, req logoutRequest, s *signedIn) {
	lv := logoutView{Params: []param{{"confirm", "yes"}}}
	if req.client != nil {
		lv.Client = req.client.Name
		lv.Params = append(lv.Params, param{"client_id", req.client.ID})
	}
	if req.redirect != "" {
		lv.Params = append(lv.Params, param{"post_logout_redirect_uri", req.redirect})
		if req.state != "" {
			lv.Params = append(lv.Params, param{"state", req.state})
		}
	}
	u.render(w, r, http.StatusOK, "logout", view{Title: "Sign out?", User: &s.user, CSRF: u.sessionToken(r, s.sess), Logout: lv})
}

// signedOut ends a logout: back to the client's registered redirect URI
// with state, or a page that says the user is signed out.
func (u *UI) signedOut(w http.ResponseWriter, r *http.Request, req logoutRequest) {
	if req.redirect == "" {
		u.message(w, r, http.StatusOK, "Signed out", "You are signed out of "+edge.RequestInfo(r).Team.Name+".", false,
			view{Link: "/login", LinkText: "Sign in again"})
		return
	}
	to := req.redirect
	if req.state != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + url.Values{"state": {req.state}}.Encode()
	}
	redirect(w, r, to)
}
