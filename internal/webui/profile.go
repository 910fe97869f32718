package webui

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// profileView is what the profile page shows.
type profileView struct {
	Consents []consentRow
	Sessions []sessionRow
}

// sessionRow is one of the user's live sessions.
type sessionRow struct {
	Current                bool // the session of this request
	Started, StartedText   string
	LastSeen, LastSeenText string
	IP, UserAgent          string
}

// sessions returns the user's live sessions, the current one marked.
func (u *UI) sessions(r *http.Request, s *signedIn) ([]sessionRow, error) {
	list, err := u.o.Sessions.List(r.Context(), s.user.Team, s.user.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]sessionRow, 0, len(list))
	for _, rec := range list {
		rows = append(rows, sessionRow{Current: bytes.Equal(rec.Hash, s.rec.Hash),
			Started: rec.CreatedAt.UTC().Format(time.RFC3339), StartedText: rec.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC"),
			LastSeen: rec.LastSeenAt.UTC().Format(time.RFC3339), LastSeenText: rec.LastSeenAt.UTC().Format("2 Jan 2006 15:04 UTC"),
			IP: rec.IP, UserAgent: rec.UserAgent})
	}
	return rows, nil
}

type consentRow struct {
	ClientID, ClientName   string
	Scopes                 []scopeView
	Granted, GrantedText   string
	LastUsed, LastUsedText string
	granted, updated       time.Time
	lastUsed               *time.Time
}

// consents returns the user's consents with their clients' names.
func (u *UI) consents(ctx context.Context, team, userID string) ([]consentRow, error) {
	cs, err := u.o.Consents.List(ctx, team, userID)
	if err != nil {
		return nil, err
	}
	rows := make([]consentRow, 0, len(cs))
	for _, c := range cs {
		row := consentRow{ClientID: c.ClientID, ClientName: c.ClientID, granted: c.CreatedAt, updated: c.UpdatedAt,
			Granted: c.CreatedAt.UTC().Format(time.RFC3339), GrantedText: c.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC")}
		switch cl, err := u.o.Clients.Client(ctx, team, c.ClientID); {
		case err == nil:
			row.ClientName = cl.Name
		case errors.Is(err, store.ErrNotFound):
			// Deleting a client deletes its consents; a race shows the ID.
		default:
			return nil, err
		}
		for _, name := range c.Scopes {
			d, _ := u.o.Scopes.Describe(name)
			row.Scopes = append(row.Scopes, scopeView{Name: name, Description: d})
		}
		if c.LastUsedAt != nil {
			row.lastUsed = c.LastUsedAt
			row.LastUsed = c.LastUsedAt.UTC().Format(time.RFC3339)
			row.LastUsedText = c.LastUsedAt.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// ServeProfile is GET /profile: the user's account, the clients they
// consented to (the Celonis guide's "Edit Profile > OAuth Client Management"), each
// with a button that revokes the consent, and the user's sessions with a
// button that ends them all.
func (u *UI) ServeProfile(w http.ResponseWriter, r *http.Request) {
	d, ok := u.openDesk(w, r, nil)
	if !ok {
		return
	}
	notice := ""
	switch q := r.URL.Query(); {
	case q.Get("revoked") != "":
		name := "the application"
		if cl, err := u.o.Clients.Client(r.Context(), d.team, q.Get("revoked")); err == nil {
			name = cl.Name
		}
		notice = "You revoked your consent to " + name + ". It can no longer act for you."
	case q.Has("saved"):
		notice = "Your name and email were saved."
	case q.Has("password"):
		notice = "Your password was changed. Every other session of yours ended."
	case q.Has("key_deleted"):
		notice = "The API key was deleted: it stopped working at once."
	}
	u.showProfile(w, r, d, http.StatusOK, accountView{}, "", notice)
}

// ServeRoot is GET / of a team's host for a browser: it goes to the
// profile, which sends a browser without a session to sign in first and
// come back.
func (u *UI) ServeRoot(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/profile") }

// WantsPage tells whether a request asks for a page: its Accept header
// names text/html, as browsers' do (curl's "*/*" and API clients' JSON do
// not).
func WantsPage(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				return true
			}
		}
	}
	return false
}

// requireSession returns the signed-in user of a page request, or sends
// the browser to sign in and come back.
func (u *UI) requireSession(w http.ResponseWriter, r *http.Request) (*signedIn, bool) {
	s, err := u.signedIn(r)
	switch {
	case errors.Is(err, errNoSession):
		back := ""
		if r.Method == http.MethodGet {
			back = r.URL.RequestURI()
		}
		redirect(w, r, loginURL(safeReturn(back)))
		return nil, false
	case err != nil:
		u.unavailable(w, r, "read session", err)
		return nil, false
	}
	return s, true
}

// ServeRevokeConsent is POST /profile/consents/{client_id}/revoke, the
// profile page's revoke button: the consent, the client's refresh tokens
// and its live access tokens for this user end, on every node within a
// second.
func (u *UI) ServeRevokeConsent(w http.ResponseWriter, r *http.Request) {
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
	clientID := r.PathValue("client_id")
	err := u.revoke(r, s, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		redirect(w, r, "/profile")
	case err != nil:
		u.unavailable(w, r, "revoke consent", err)
	default:
		redirect(w, r, "/profile?revoked="+url.QueryEscape(clientID))
	}
}

func (u *UI) revoke(r *http.Request, s *signedIn, clientID string) error {
	a := userActor(r, s.user)
	return u.o.Consents.Revoke(r.Context(), a, s.user.Team, s.user.ID, clientID)
}
