package server_test

// Regression tests for findings of an attack on a running server: a code
// presented by another client, more than one credential in a request, a
// client that goes away, and the expiry leeway.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A client that presents another client's authorization code gets
// invalid_grant and spends nothing: the owner's redemption then works, is
// not taken for a replay, and its tokens stay valid, however often the
// other client presents the code, before or after.
func TestCodeOfAnotherClientIsNotSpent(t *testing.T) {
	e := startFlowEnv(t)
	b := e.signedIn(t)
	other := e.codeClient(t, "acme", "Other App", client.AuthSecretBasic, []string{appRedirect}, "audit.log:read")
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, e.http)
	config := func(c creds) *oauth2.Config {
		return &oauth2.Config{ClientID: c.ID, ClientSecret: c.secret, RedirectURL: appRedirect, Scopes: []string{"audit.log:read"},
			Endpoint: oauth2.Endpoint{AuthURL: teamURL("acme", "/oauth2/authorize"), TokenURL: teamURL("acme", "/oauth2/token"),
				AuthStyle: oauth2.AuthStyleInHeader}}
	}
	owner, thief := config(e.app), config(other)
	wantInvalidGrant := func(t *testing.T, what string, err error) {
		t.Helper()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest || re.ErrorCode != "invalid_grant" {
			t.Fatalf("%s: %v, want 400 invalid_grant", what, err)
		}
	}

	verifier := oauth2.GenerateVerifier()
	code := b.approve(t, owner.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Get("code")
	// With the owner's verifier too: the worst case, a code and verifier
	// that leaked together.
	_, err := thief.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantInvalidGrant(t, "another client's exchange", err)
	_, err = thief.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantInvalidGrant(t, "another client's second exchange", err)

	tok, err := owner.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("the owner's exchange after another client's: %v", err)
	}
	_, err = thief.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantInvalidGrant(t, "another client's exchange of the spent code", err)

	// None of it was a replay: the owner's tokens live on.
	if !activeAt(t, e.http, "acme", e.app, tok.AccessToken) {
		t.Error("the owner's access token is inactive")
	}
	if r := e.refresh(t, e.app, tok.RefreshToken, ""); r.status != http.StatusOK {
		t.Errorf("the owner's refresh token: %d %s", r.status, r.raw)
	}
	// A replay by the owner itself still revokes.
	_, err = owner.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantInvalidGrant(t, "the owner's replay", err)
	if evs := e.auditEvents(t, "acme", "code.replay"); len(evs) != 1 {
		t.Errorf("code.replay events: %+v, want the owner's replay alone", evs)
	}
}

// A request to an endpoint that authenticates a client must carry one
// credential (RFC 6749 section 2.3): two Authorization headers, in either
// order and even when equal, or a header and a client_secret in the body,
// are 400 invalid_request in RFC 6749 section 5.2's format, and nothing is
// issued or revoked.
func TestOneClientCredentialPerRequest(t *testing.T) {
	e := startOAuthEnv(t)
	basicC := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
	postC := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
	tok, _ := mustToken(t, e.http, "acme", basicC, "")
	good, wrong := basic(basicC.ID, basicC.secret), basic(basicC.ID, "wrong")

	for _, ep := range []struct {
		path string
		form url.Values
	}{
		{"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}},
		{"/oauth2/introspect", url.Values{"token": {tok}}},
		{"/oauth2/revoke", url.Values{"token": {tok}}},
	} {
		for _, tc := range []struct {
			name string
			auth []string
			body url.Values
		}{
			{"right then wrong Authorization", []string{good, wrong}, nil},
			{"wrong then right Authorization", []string{wrong, good}, nil},
			{"the same Authorization twice", []string{good, good}, nil},
			{"Basic and a client_secret in the body", []string{good}, url.Values{"client_id": {basicC.ID}, "client_secret": {basicC.secret}}},
			{"Basic and an empty client_secret in the body", []string{good}, url.Values{"client_secret": {""}}},
			{"another scheme and a client_secret in the body", []string{"Bearer " + tok}, url.Values{"client_id": {postC.ID}, "client_secret": {postC.secret}}},
		} {
			t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range ep.form {
					form[k] = v
				}
				for k, v := range tc.body {
					form[k] = v
				}
				req, err := http.NewRequest("POST", teamURL("acme", ep.path), strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for _, a := range tc.auth {
					req.Header.Add("Authorization", a)
				}
				r := sendRequest(t, e.http, req)
				wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
				if _, ok := r.body["error_description"].(string); !ok {
					t.Errorf("no error_description: %s", r.raw)
				}
			})
		}
	}
	if !activeAt(t, e.http, "acme", basicC, tok) {
		t.Error("the token was revoked by a request with two credentials")
	}
}

// sendRequest sends req and returns the answer with its JSON body parsed.
func sendRequest(t *testing.T, hc *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

// slowClients is a store whose client lookups, once armed, answer only
// when their caller's context ends: a database slower than the client's
// patience.
type slowClients struct {
	store.Store
	armed atomic.Bool
}

func (s *slowClients) Client(ctx context.Context, team, id string) (store.Client, error) {
	if s.armed.Load() {
		select {
		case <-ctx.Done():
			return store.Client{}, fmt.Errorf("slow client lookup: %w", ctx.Err())
		case <-time.After(10 * time.Second):
			return store.Client{}, errors.New("slow client lookup: the request's context did not end")
		}
	}
	return s.Store.Client(ctx, team, id)
}

// A client that half-closes its connection while its request waits is a
// client that went away (net/http cancels the request's context): it is
// answered, logged and counted as 499, at info level, never as a server
// error; no line of the request is logged at error level.
func TestClientGoneIsNotAServerError(t *testing.T) {
	var logs syncBuffer
	slow := &slowClients{}
	h := servertest.Start(t, servertest.WithWallClock(),
		servertest.WithStore(func(st store.Store) store.Store { slow.Store = st; return slow }),
		servertest.WithLog(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c, sec := h.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
	slow.armed.Store(true)

	conn, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := "grant_type=client_credentials"
	fmt.Fprintf(conn, "POST /oauth2/token HTTP/1.1\r\nHost: acme.%s\r\nAuthorization: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nX-Request-Id: half-closed\r\n\r\n%s",
		servertest.Domain, basic(c.ID, sec), len(body), body)
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer on the half-closed connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 499 {
		t.Errorf("answer to a client that went away: %d, want 499", resp.StatusCode)
	}

	// The request line is written once the handler returns, just after
	// the answer: wait for it.
	var line map[string]any
	poll.Must(t, 10*time.Second, "the request line of the half-closed request", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == "half-closed" {
				line = m
			}
		}
		return line != nil
	})
	if line["level"] != "INFO" || line["status"] != float64(499) || line["outcome"] != "client went away" {
		t.Errorf("request line %v: want INFO, status 499, outcome \"client went away\"", line)
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"request_id":"half-closed"`) && strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("logged at error level: %s", l)
		}
	}
	metrics := h.MetricsText()
	if want := `gatehouse_http_requests_total{code="499",method="POST",route="/oauth2/token"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s:\n%s", want, metrics)
	}
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "gatehouse_http_requests_total{code=\"5") {
			t.Errorf("counted as a server error: %s", l)
		}
	}
}

// One leeway on an access token's times, the same at the APIs and at
// introspection: a token is active exactly while the APIs take it, and
// --token-leeway sets it (30 s by default; 0 for none).
func TestOneTokenLeeway(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leeway time.Duration // 0: the default
		want   time.Duration
	}{
		{"default", 0, 30 * time.Second},
		{"none", -1, 0},
		{"a minute", time.Minute, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startOAuthEnv(t, func(c *config.Config) {
				switch {
				case tc.leeway > 0:
					c.TokenLeeway = tc.leeway
				case tc.leeway < 0:
					c.TokenLeeway = 0
				}
			})
			cr := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
			e.grant(t, "acme", "client:"+cr.ID, "read", "audit-log")
			e.h.SyncChanges(t)
			issued := e.clock.Now()
			tok, _ := mustToken(t, e.http, "acme", cr, "")
			exp := issued.Add(e.cfg.AccessTokenTTL)

			for _, at := range []struct {
				name  string
				t     time.Time
				taken bool
			}{
				{"a second before exp", exp.Add(-time.Second), true},
				{"a second before the leeway ends", exp.Add(tc.want - time.Second), true},
				{"as the leeway ends", exp.Add(tc.want), false},
			} {
				e.clock.Set(at.t)
				status, _, body := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+tok)
				if (status == http.StatusOK) != at.taken {
					t.Errorf("%s: the API answered %d %v, want taken %v", at.name, status, body, at.taken)
				}
				if active := activeAt(t, e.http, "acme", cr, tok); active != at.taken {
					t.Errorf("%s: introspection says active %v, want %v", at.name, active, at.taken)
				}
			}
		})
	}
}
