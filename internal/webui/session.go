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
	"github.com/gatehouse/gatehouse/internal/store"
)

// session is what the session cookie holds, sealed: nobody can read or
// forge it without the master key, and it opens only on its team's host.
type session struct {
	UserID  string `json:"u"`
	ID      string `json:"s"` // random; CSRF tokens are bound to it
	Issued  int64  `json:"i"` // Unix seconds
	Expires int64  `json:"e"`
	// Pass fingerprints the user's password hash: a new password ends
	// every session made before it.
	Pass string `json:"p"`
}

// signedIn is the user of a valid session.
type signedIn struct {
	user store.User
	sess session
}

// sealAD binds a sealed session to its team: a cookie copied to another
// team's host does not open.
func sealAD(team string) []byte { return []byte("gatehouse web session\x00" + team) }

// passPrint is the fingerprint of a password hash kept in sessions.
func (u *UI) passPrint(hash string) string {
	m := hmac.New(sha256.New, u.passKey)
	m.Write([]byte(hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// startSession sets a new session cookie for user: a fresh session ID on
// every sign-in, so that nothing planted before carries over.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, user store.User) error {
	id, err := u.o.Gen.Bytes(16)
	if err != nil {
		return err
	}
	now := u.now()
	s := session{UserID: user.ID, ID: base64.RawURLEncoding.EncodeToString(id), Issued: now.Unix(),
		Expires: now.Add(u.o.SessionTTL).Unix(), Pass: u.passPrint(user.PasswordHash)}
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	sealed, err := u.o.Key.Seal(plain, sealAD(edge.RequestInfo(r).Team.Name))
	if err != nil {
		return err
	}
	http.SetCookie(w, u.cookie(u.sessionCk, base64.RawURLEncoding.EncodeToString(sealed), u.o.SessionTTL))
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
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// errNoSession is a request without a valid session.
var errNoSession = errors.New("no valid session")

// signedIn returns the request's session and its user, who must still
// exist, be enabled and have the password the session was made with. An
// error other than errNoSession is a failure to read the user.
func (u *UI) signedIn(r *http.Request) (*signedIn, error) {
	c, err := r.Cookie(u.sessionCk)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, errNoSession
	}
	info := edge.RequestInfo(r)
	plain, err := u.o.Key.Open(sealed, sealAD(info.Team.Name))
	if err != nil {
		return nil, errNoSession
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil || s.UserID == "" || s.ID == "" {
		return nil, errNoSession
	}
	if u.now().Unix() >= s.Expires {
		return nil, errNoSession
	}
	user, err := u.o.Users.User(r.Context(), info.Team.Name, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if user.Disabled || !hmac.Equal([]byte(u.passPrint(user.PasswordHash)), []byte(s.Pass)) {
		return nil, errNoSession
	}
	info.Principal = "user:" + user.Email
	return &signedIn{user: user, sess: s}, nil
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
