package webui

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/store"
)

// consentView is what the consent page shows.
type consentView struct {
	Client       string
	Scopes       []scopeView
	RedirectHost string
	Params       []param // the request, sent back with the decision
}

type scopeView struct{ Name, Description string }

type param struct{ Name, Value string }

// ServeAuthorize is the authorization endpoint, GET and POST
// /oauth2/authorize (RFC 6749 section 4.1.1, RFC 7636, RFC 9700 section
// 2.1).
//
// The client and the redirect URI are checked first: until both are known
// good (the redirect URI equal to a registered one, character for
// character), a problem is shown to the user on a page and nobody is
// redirected anywhere. From then on errors go back to the client at its
// redirect URI (section 4.1.2.1) with state and iss (RFC 9207). A user
// who is not signed in goes to /login and comes back; so does one whose
// sign-in OpenID Connect's prompt=login, max_age or id_token_hint refuses.
// A consent that covers the request answers it at once, unless
// prompt=consent; otherwise the consent page asks, and its form comes back
// here as a POST with the decision. With prompt=none no page is shown: the
// client gets login_required, interaction_required or consent_required.
func (u *UI) ServeAuthorize(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	// A POST is either the consent page's form (it carries decision),
	// which must come from this origin, or an authorization request sent
	// as a form, which a client's page may send from anywhere (OpenID
	// Connect Core 1.0 section 3.1.2.1) and which goes on as a GET.
	decision := false
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			u.message(w, r, http.StatusBadRequest, "Cannot continue", "The form could not be read.", true, view{})
			return
		}
		p = r.PostForm
		if decision = p.Has("decision"); decision && !u.sameOrigin(w, r) {
			return
		}
	}
	ctx := r.Context()
	info := edge.RequestInfo(r)
	team := info.Team.Name

	var c *store.Client
	if id := p.Get("client_id"); id != "" {
		cl, err := u.o.Clients.Client(ctx, team, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			u.unavailable(w, r, "read client", err)
			return
		default:
			c = &cl
		}
	}
	req, err := consent.ParseRequest(c, p)
	var pageErr *consent.PageError
	var redirectErr *consent.RedirectError
	switch {
	case errors.As(err, &pageErr):
		u.message(w, r, http.StatusBadRequest, "This sign-in request cannot continue",
			"The application sent an authorization request that is not valid here: "+pageErr.Description+
				". Nothing was shared. Tell the application's developers.", true, view{})
		return
	case errors.As(err, &redirectErr):
		u.answer(w, r, req, url.Values{"error": {redirectErr.Code}, "error_description": {redirectErr.Description}})
		return
	case err != nil:
		u.unavailable(w, r, "parse authorization request", err)
		return
	}
	info.Log = info.Log.With("client_id", req.Client.ID)
	if r.Method == http.MethodPost && !decision {
		// A request sent as a form from the client's page: the browser
		// sends no SameSite=Lax cookie with a cross-site POST, so the
		// request goes on as a GET, which carries the session.
		redirect(w, r, "/oauth2/authorize?"+req.Params().Encode())
		return
	}

	s, err := u.signedIn(r)
	switch {
	case errors.Is(err, errNoSession):
		s = nil
	case err != nil:
		u.fail(w, r, req, "read session", err)
		return
	}
	if decision && s == nil {
		// The session ended while the consent page was shown: sign in
		// again, then come back to the same request.
		u.toSignIn(w, r, req, nil)
		return
	}
	if !decision {
		// OpenID Connect's demands on the sign-in (prompt, max_age,
		// id_token_hint): answered here, before any consent, so that the
		// consent form's POST need not repeat them.
		why, err := u.signInNeeded(r, req, s)
		var redirectErr *consent.RedirectError
		switch {
		case errors.As(err, &redirectErr):
			u.answer(w, r, req, url.Values{"error": {redirectErr.Code}, "error_description": {redirectErr.Description}})
			return
		case err != nil:
			u.fail(w, r, req, "check id_token_hint", err)
			return
		case why == nil:
		case req.Prompt.None:
			// No page may be shown: the client learns why (OpenID Connect
			// Core 1.0 section 3.1.2.6).
			u.answer(w, r, req, url.Values{"error": {why.Code}, "error_description": {why.Description}})
			return
		default:
			u.toSignIn(w, r, req, s)
			return
		}
	}

	if decision {
		if !u.validSessionToken(r, s.sess, p.Get("csrf_token")) {
			u.forbidden(w, r, s)
			return
		}
		switch p.Get("decision") {
		case "approve":
			a := userActor(r, s.user)
			if err := u.o.Consents.Approve(ctx, a, team, s.user.ID, req.Client.ID, req.Scopes); err != nil {
				u.fail(w, r, req, "record consent", err)
				return
			}
			u.issueCode(w, r, req, s)
		case "deny":
			if err := u.o.Audit.Add(kernel.Event(userActor(r, s.user), u.now().UTC(), team, "consent.deny", "client:"+req.Client.ID,
				map[string]string{"scopes": strings.Join(req.Scopes, " ")})); err != nil {
				u.unavailable(w, r, "audit consent", err)
				return
			}
			u.answer(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}})
		default:
			u.message(w, r, http.StatusBadRequest, "Cannot continue", "Choose Allow or Deny.", true,
				view{User: &s.user, CSRF: u.sessionToken(r, s.sess)})
		}
		return
	}

	remembered, err := u.o.Consents.Remembered(ctx, team, s.user.ID, req.Client.ID, req.Scopes)
	if err != nil {
		u.fail(w, r, req, "read consent", err)
		return
	}
	switch {
	case remembered && !req.Prompt.Consent:
		u.issueCode(w, r, req, s)
	case req.Prompt.None:
		u.answer(w, r, req, url.Values{"error": {"consent_required"},
			"error_description": {"the user has not consented to these scopes, and prompt=none allows no consent page"}})
	default:
		u.consentPage(w, r, req, s)
	}
}

// signInNeeded says why the request needs the user to sign in (again)
// before it can go on, or nil when the session s serves (OpenID Connect
// Core 1.0 section 3.1.2.1), as the error that prompt=none answers:
// login_required without a session, with prompt=login (max_age=0 is the
// same) or when the sign-in is older than max_age; interaction_required
// when the user signed in is not the one that id_token_hint names, who
// must switch accounts. A hint that is not an ID token this team issued
// to the client is a *consent.RedirectError; any other error is a failure
// to read the keys.
func (u *UI) signInNeeded(r *http.Request, req consent.Request, s *signedIn) (*consent.RedirectError, error) {
	var hint *oidc.Hint
	if req.IDTokenHint != "" {
		info := edge.RequestInfo(r)
		h, err := oidc.CheckHint(r.Context(), u.o.IDTokens, info.Team.Name, info.TeamURL, req.IDTokenHint)
		switch {
		case errors.Is(err, oidc.ErrBadHint) || err == nil && !h.For(req.Client.ID):
			return nil, &consent.RedirectError{Code: "invalid_request", Description: "id_token_hint is not an ID token that this team issued to the client"}
		case err != nil:
			return nil, err
		}
		hint = &h
	}
	switch {
	case s == nil:
		return &consent.RedirectError{Code: "login_required", Description: "the user is not signed in"}, nil
	case req.Prompt.Login:
		return &consent.RedirectError{Code: "login_required", Description: "prompt=login asks the user to sign in again"}, nil
	case req.HasMaxAge && (req.MaxAge == 0 || u.now().Sub(s.rec.CreatedAt) > req.MaxAge):
		return &consent.RedirectError{Code: "login_required", Description: "the user signed in longer ago than max_age allows"}, nil
	case hint != nil && hint.Subject != s.user.ID:
		return &consent.RedirectError{Code: "interaction_required", Description: "another user than the one id_token_hint names is signed in"}, nil
	}
	return nil, nil
}

// toSignIn sends the browser to the sign-in page, pre-filled with the
// request's login_hint, to come back to the request once signed in (its
// parameters rebuilt from the checked request: a path on this host,
// without what the sign-in answers). With a session s, the page asks for
// the sign-in again rather than going straight back.
func (u *UI) toSignIn(w http.ResponseWriter, r *http.Request, req consent.Request, s *signedIn) {
	v := url.Values{"return_to": {"/oauth2/authorize?" + req.AfterSignIn().Params().Encode()}}
	if req.LoginHint != "" {
		v.Set("login_hint", req.LoginHint)
	}
	if s != nil {
		v.Set("reauth", "1")
	}
	redirect(w, r, "/login?"+v.Encode())
}

// consentPage asks the user to approve or deny the request.
func (u *UI) consentPage(w http.ResponseWriter, r *http.Request, req consent.Request, s *signedIn) {
	cv := consentView{Client: req.Client.Name}
	for _, name := range req.Scopes {
		d, _ := u.o.Scopes.Describe(name)
		cv.Scopes = append(cv.Scopes, scopeView{Name: name, Description: d})
	}
	if ru, err := url.Parse(req.RedirectURI); err == nil {
		cv.RedirectHost = ru.Host
	}
	params := req.Params()
	for k := range params {
		cv.Params = append(cv.Params, param{k, params.Get(k)})
	}
	sort.Slice(cv.Params, func(i, j int) bool { return cv.Params[i].Name < cv.Params[j].Name })
	u.render(w, r, http.StatusOK, "consent", view{Title: "Allow " + req.Client.Name + "?", User: &s.user,
		CSRF: u.sessionToken(r, s.sess), Consent: cv})
}

// issueCode answers an approved request with an authorization code.
func (u *UI) issueCode(w http.ResponseWriter, r *http.Request, req consent.Request, s *signedIn) {
	// auth_time is when the user signed in: the session's start.
	code, err := u.o.Consents.IssueCode(r.Context(), edge.RequestInfo(r).Team.Name, s.user.ID, s.rec.CreatedAt, req)
	if err != nil {
		u.fail(w, r, req, "issue code", err)
		return
	}
	u.answer(w, r, req, url.Values{"code": {code.Reveal()}})
}

// fail answers a request whose client and redirect URI are known good but
// that could not be completed: back to the client at its redirect URI
// (RFC 6749 section 4.1.2.1), with temporarily_unavailable while the
// database cannot answer (store.ErrUnavailable), else server_error.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, req consent.Request, what string, err error) {
	edge.LogFailure(r.Context(), edge.RequestInfo(r).Log, what, err)
	v := url.Values{"error": {"server_error"}, "error_description": {"the request could not be completed; try again"}}
	if errors.Is(err, store.ErrUnavailable) {
		v = url.Values{"error": {"temporarily_unavailable"}, "error_description": {"the service cannot complete the request right now; try again shortly"}}
	}
	u.answer(w, r, req, v)
}

// answer sends the user agent back to the client's redirect URI with the
// response parameters v, the request's state and the issuer (RFC 9207).
// The redirect URI's own query is kept as it is (RFC 6749 section 3.1.2).
func (u *UI) answer(w http.ResponseWriter, r *http.Request, req consent.Request, v url.Values) {
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", edge.RequestInfo(r).TeamURL)
	to := req.RedirectURI
	if strings.Contains(to, "?") {
		to += "&" + v.Encode()
	} else {
		to += "?" + v.Encode()
	}
	redirect(w, r, to)
}
