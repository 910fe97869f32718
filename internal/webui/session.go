package webui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// session is what the session cookie holds, sealed: nobody can read or
// forge it without the master key, and it opens only on its team's host.
// The session itself lives in the store (internal/session): the cookie
// names it, and ending it there ends the cookie on every node.
type session struct {
	ID      string `json:"s"` // 256 random bits; CSRF tokens are bound to it
	Expires int64  `json:"e"` // Unix seconds, the record's expiry
}

// signedIn is the user of a live session.
type signedIn struct {
	user store.User
	sess session
	rec  store.Session
}

// sealAD binds a sealed session to its team: a cookie copied to another
// team's host does not open.
func sealAD(team string) []byte { return []byte("gatehouse web session\x00" + team) }

// maxCookie bounds the session cookie's value that is opened: a sealed
// session is about 140 characters.
const maxCookie = 512

// sealSession is the cookie value of s for team.
func sealSession(key masterkey.Key, team string, s session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	sealed, err := key.Seal(plain, sealAD(team))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openSession opens a session cookie's value for team; ok is false for
// anything that is not a session sealed for that team with key.
func openSession(key masterkey.Key, team, value string) (s session, ok bool) {
	if value == "" || len(value) > maxCookie {
		return session{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return session{}, false
	}
	plain, err := key.Open(sealed, sealAD(team))
	if err != nil {
		return session{}, false
	}
	if err := json.Unmarshal(plain, &s); err != nil || s.ID == "" || s.Expires <= 0 {
		return session{}, false
	}
	return s, true
}

// startSession starts a session for user and sets its cookie: a new
// session on every sign-in, so that nothing planted before carries over.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, user store.User) error {
	team := edge.RequestInfo(r).Team.Name
	id, rec, err := u.o.Sessions.Start(r.Context(), team, user.ID, edge.ClientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	value, err := sealSession(u.o.Key, team, session{ID: id.Reveal(), Expires: rec.ExpiresAt.Unix()})
	if err != nil {
		return err
	}
	http.SetCookie(w, u.cookie(u.sessionCk, value, rec.ExpiresAt.Sub(u.now())))
	return nil
}

// endSession deletes the session cookie.
func (u *UI) endSession(w http.ResponseWriter) {
	http.SetCookie(w, u.cookie(u.sessionCk, "", -1))
}

// cookie is a cookie of this UI: host-only, for every path, HttpOnly,
// SameSite=Lax (sent on top-level navigations from elsewhere, such as a
// client sending the user to /oauth2/authorize, but not on cross-site
// POSTs), and Secure under https. maxAge < 0 deletes it.
func (u *UI) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: u.o.Secure, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Round(time.Second) / time.Second)
	}
	return c
}

// errNoSession is a request without a live session.
var errNoSession = errors.New("no live session")

// signedIn returns the request's session and its user. The session must
// be live in the store (not ended, not expired: a sign-out anywhere ends
// it here at once) and its user must exist and be enabled. An error other
// than errNoSession is a failure to read the store: the request is then
// answered 503, never served on the cookie's word.
func (u *UI) signedIn(r *http.Request) (*signedIn, error) {
	c, err := r.Cookie(u.sessionCk)
	if err != nil {
		return nil, errNoSession
	}
	info := edge.RequestInfo(r)
	s, ok := openSession(u.o.Key, info.Team.Name, c.Value)
	if !ok || u.now().Unix() >= s.Expires {
		return nil, errNoSession
	}
	rec, err := u.o.Sessions.Live(r.Context(), info.Team.Name, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	user, err := u.o.Users.User(r.Context(), info.Team.Name, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		return nil, errNoSession
	}
	info.Principal = "user:" + user.Email
	return &signedIn{user: user, sess: s, rec: rec}, nil
}

// CSRF tokens. A session's forms carry a token derived from the session's
// ID (a synchronizer token that needs no server state); the login form,
// before any session, carries one derived from a random value in a
// cookie of its own (a signed double-submit cookie). Both are HMACs under
// a key derived from the master key, bound to the team.

func (u *UI) mac(parts ...string) string {
	m := hmac.New(sha256.New, u.csrfKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionToken is the CSRF token of a session's forms.
func (u *UI) sessionToken(r *http.Request, s session) string {
	return u.mac("session", edge.RequestInfo(r).Team.Name, s.ID)
}

// validSessionToken checks a session form's token.
func (u *UI) validSessionToken(r *http.Request, s session, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(u.sessionToken(r, s)))
}

// loginNonce returns the login form's cookie value, setting a new one if
// the request has none.
func (u *UI) loginNonce(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(u.loginCk); err == nil && len(c.Value) == 43 {
		return c.Value, nil
	}
	b, err := u.o.Gen.Bytes(32)
	if err != nil {
		return "", err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, u.cookie(u.loginCk, v, 24*time.Hour))
	return v, nil
}

// loginToken is the login form's CSRF token for the cookie value nonce.
func (u *UI) loginToken(r *http.Request, nonce string) string {
	return u.mac("login", edge.RequestInfo(r).Team.Name, nonce)
}

// validLoginToken checks the login form's token against its cookie.
func (u *UI) validLoginToken(r *http.Request, got string) bool {
	c, err := r.Cookie(u.loginCk)
	if err != nil || c.Value == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(u.loginToken(r, c.Value)))
}

// ErrNoSession is APISession's answer for a request without a live
// session; ErrCSRF for an unsafe request whose session is not proven its
// own (a cross-origin request, or no valid X-CSRF-Token header).
var (
	ErrNoSession = errNoSession
	ErrCSRF      = errors.New("cross-site request refused: send the session's X-CSRF-Token header from this origin")
)

// APISession is the signed-in user of a JSON API request that carries the
// session cookie (the profile API, for the web pages' scripts and the
// console), with the session's CSRF token, which the answer may show: a
// page of another site cannot read it. An unsafe method must pass the
// cross-origin protection and carry the token in the X-CSRF-Token header.
func (u *UI) APISession(r *http.Request) (store.User, string, error) {
	s, err := u.signedIn(r)
	if err != nil {
		return store.User{}, "", err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if err := u.cop.Check(r); err != nil || !u.validSessionToken(r, s.sess, r.Header.Get("X-CSRF-Token")) {
			return store.User{}, "", ErrCSRF
		}
	}
	return s.user, u.sessionToken(r, s.sess), nil
}
