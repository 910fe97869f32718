package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeAuthServer is an authorization server with a login page and a
// consent page of its own markup, a CSRF token and a session cookie: the
// flow driver must get through it without knowing it.
type fakeAuthServer struct {
	mu       sync.Mutex
	codes    map[string]string // code -> PKCE challenge
	refresh  map[string]bool   // refresh token -> unused
	sessions map[string]bool
	logins   int
}

func newFakeAuthServer() *fakeAuthServer {
	return &fakeAuthServer{codes: map[string]string{}, refresh: map[string]bool{}, sessions: map[string]bool{}}
}

const (
	fakeClient   = "c1"
	fakeSecret   = "s1"
	fakeEmail    = "ada@example.com"
	fakePassword = "correct horse battery"
)

func (f *fakeAuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	session, _ := r.Cookie("sid")
	loggedIn := session != nil && f.sessions[session.Value]
	switch r.URL.Path {
	case "/oauth2/authorize":
		if !loggedIn {
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.String()), http.StatusSeeOther)
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// A logout form first, then the consent form with Deny before Allow.
		fmt.Fprintf(w, `<html><body><form method="post" action="/logout"><button>Log out</button></form>
<form method="POST" action="/oauth2/consent">
  <input type="hidden" name="csrf" value="tok&amp;en">
  <input type="hidden" name="request" value='%s'>
  <label><input type="checkbox" name="scope" value="audit.log:read" checked> read audit</label>
  <button type="submit" name="decision" value="deny">Deny</button>
  <button type="submit" name="decision" value="allow"><b>Allow</b> access</button>
</form></body></html>`, html.EscapeString(q.Encode()))
	case "/login":
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<form method=post><input type=hidden name=return_to value="%s">
<input name="username" type="email"><input name=pw type=password><input type=submit value="Sign in"></form>`,
				r.URL.Query().Get("return_to"))
			return
		}
		r.ParseForm()
		if r.PostForm.Get("username") != fakeEmail || r.PostForm.Get("pw") != fakePassword || r.Header.Get("Origin") == "" {
			http.Error(w, "bad login", http.StatusUnauthorized)
			return
		}
		f.logins++
		sid := randomText(8)
		f.sessions[sid] = true
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/"})
		http.Redirect(w, r, r.PostForm.Get("return_to"), http.StatusFound)
	case "/oauth2/consent":
		r.ParseForm()
		if !loggedIn || r.PostForm.Get("csrf") != "tok&en" || r.PostForm.Get("decision") != "allow" || r.PostForm.Get("scope") != "audit.log:read" {
			http.Error(w, "bad consent: "+r.PostForm.Encode(), http.StatusBadRequest)
			return
		}
		q, _ := url.ParseQuery(r.PostForm.Get("request"))
		code := randomText(8)
		f.codes[code] = q.Get("code_challenge")
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+q.Get("state"), http.StatusFound)
	case "/oauth2/token":
		r.ParseForm()
		id, sec, _ := r.BasicAuth()
		if id != fakeClient || sec != fakeSecret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		switch r.PostForm.Get("grant_type") {
		case "authorization_code":
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			ch, ok := f.codes[r.PostForm.Get("code")]
			if !ok || ch != base64.RawURLEncoding.EncodeToString(sum[:]) {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
				return
			}
			delete(f.codes, r.PostForm.Get("code"))
		case "refresh_token":
			if !f.refresh[r.PostForm.Get("refresh_token")] {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
				return
			}
			f.refresh[r.PostForm.Get("refresh_token")] = false
		}
		rt := randomText(8)
		f.refresh[rt] = true
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"a.b.c","token_type":"Bearer","refresh_token":%q}`, rt)
	default:
		http.NotFound(w, r)
	}
}

func TestAuthFlow(t *testing.T) {
	fake := newFakeAuthServer()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	flow, err := newAuthFlow(addr, "acme.example.test", codeClient{id: fakeClient, secret: fakeSecret,
		redirect: "http://127.0.0.1/cb", scope: "audit.log:read", email: fakeEmail, password: fakePassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := newRefreshSource(ctx, flow, "acme.example.test")
	if err != nil {
		t.Fatal(err)
	}
	// Refresh three times with the newest token each time.
	for i := range 3 {
		req, err := src.next()
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := do(ctx, addr, req)
		if err != nil {
			t.Fatal(err)
		}
		old := src.token
		src.observe(status, body)
		if src.broken != "" || src.token == old {
			t.Fatalf("refresh %d: %s", i, src.broken)
		}
	}
	// A second family reuses the session: no second login.
	if _, err := flow.refreshToken(ctx); err != nil {
		t.Fatal(err)
	}
	if fake.logins != 1 {
		t.Errorf("%d logins, want 1", fake.logins)
	}
	// A broken chain starts a new family, a bounded number of times.
	src.observe(400, []byte(`{"error":"invalid_grant"}`))
	if _, err := src.next(); err != nil || src.broken != "" || src.restarts != 1 {
		t.Errorf("restart: %v, broken %q, restarts %d", err, src.broken, src.restarts)
	}
	src.restarts = maxRestarts
	src.observe(400, nil)
	if _, err := src.next(); err == nil {
		t.Error("no error after too many restarts")
	}
}

func TestAuthFlowUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	flow, _ := newAuthFlow(srv.Listener.Addr().String(), "acme.example.test", codeClient{id: "c", redirect: "http://127.0.0.1/cb"})
	_, err := flow.refreshToken(context.Background())
	var u *unavailableError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "404") {
		t.Errorf("got %v, want unavailable", err)
	}
}

func TestPickForm(t *testing.T) {
	page := `<form action="/logout" method="post"><button>Sign out</button></form>
<FORM METHOD='post'><input type='hidden' name='x' value='1'><input type="submit" name="op" value="Cancel">
<input type="submit" name="op" value="Approve"></FORM>`
	f, ok := pickForm(page)
	if !ok || f.action != "" {
		t.Fatalf("picked %+v", f)
	}
	v := f.fill("e", "p")
	if v.Get("x") != "1" || v.Get("op") != "Approve" {
		t.Errorf("filled %v", v)
	}
	if _, ok := pickForm("<p>no form</p>"); ok {
		t.Error("a page without a form")
	}
}
