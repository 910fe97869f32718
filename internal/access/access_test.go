package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// The guard's own tests: RFC 6750 answers for every kind of credential and
// decision, over fakes of the narrow interfaces it depends on. The rule
// with real tokens, keys and stores is tested in internal/server.

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const (
	teamURL  = "https://acme.gatehouse.test"
	teamHost = "acme.gatehouse.test"
	clientID = "c1"
	adaID    = "u-ada"
)

// jwt makes a token-shaped string whose payload fakeKeys knows by name.
func jwt(name string) string { return "eyJhbGciOiJFUzM4NCJ9." + name + ".sig" }

type fakeKeys struct {
	mu       sync.Mutex
	payloads map[string][]byte
	verifies int
	fail     error
}

func (k *fakeKeys) Verify(_ context.Context, team, raw string) ([]byte, signing.Header, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.verifies++
	if k.fail != nil {
		return nil, signing.Header{}, k.fail
	}
	p, ok := k.payloads[raw]
	if !ok || team != "acme" {
		return nil, signing.Header{}, fmt.Errorf("bad signature: %w", signing.ErrInvalid)
	}
	return p, signing.Header{}, nil
}

func claims(sub, jti string, scopes []string, exp time.Time, iss string) []byte {
	b, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "aud": []string{clientID, teamHost}, "client_id": clientID,
		"azp": clientID, "scope": scopes, "iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(),
		"exp": exp.Unix(), "jti": jti})
	return b
}

type fakeDenylist map[string]bool

func (d fakeDenylist) Refused(_ context.Context, _ string, c token.Claims) (bool, error) {
	if d["fail"] {
		return false, errors.New("database is away")
	}
	return d[c.JTI], nil
}

type fakeChecker map[string]authz.Entry // by "<kind>/<id>"

func (c fakeChecker) Resolve(_ context.Context, _, kind, id string) (authz.Entry, error) {
	if e, ok := c[kind+"/"+id]; ok {
		return e, nil
	}
	return authz.Entry{}, authz.ErrUnknownPrincipal
}

func (c fakeChecker) ResolveName(ctx context.Context, team string, p authz.Principal) (authz.Entry, error) {
	return c.Resolve(ctx, team, p.Kind, p.Name)
}

type fakeStaticKeys struct{ notice statickey.Notice }

func (f fakeStaticKeys) Authenticate(_ context.Context, _ store.Team, kind, key string, _ statickey.Use) (authz.Subject, statickey.Notice, error) {
	switch {
	case kind == statickey.KindApp && key == "good-appkey":
		return authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.App, Name: "etl"}, AllScopes: true, Credential: "app_key"}, f.notice, nil
	case key == "broken":
		return authz.Subject{}, f.notice, errors.New("database is away")
	}
	return authz.Subject{}, f.notice, fmt.Errorf("unknown key: %w", statickey.ErrInvalidKey)
}

func newGuard() (*Guard, *fakeKeys, *audittest.Trail) {
	keys := &fakeKeys{payloads: map[string][]byte{
		jwt("client"):     claims(clientID, "j1", []string{"audit.log:read"}, now.Add(time.Hour), teamURL),
		jwt("user"):       claims(adaID, "j2", []string{"audit.log:read"}, now.Add(time.Hour), teamURL),
		jwt("revoked"):    claims(clientID, "j3", []string{"audit.log:read"}, now.Add(time.Hour), teamURL),
		jwt("expired"):    claims(clientID, "j4", []string{"audit.log:read"}, now.Add(-2*time.Minute), teamURL),
		jwt("otherteam"):  claims(clientID, "j5", []string{"audit.log:read"}, now.Add(time.Hour), "https://beta.gatehouse.test"),
		jwt("noscope"):    claims(clientID, "j6", []string{"team.login-history:read"}, now.Add(time.Hour), teamURL),
		jwt("ghost"):      claims("nobody", "j7", []string{"audit.log:read"}, now.Add(time.Hour), teamURL),
		jwt("in-leeway"):  claims(clientID, "j8", []string{"audit.log:read"}, now.Add(-30*time.Second), teamURL),
		jwt("malformed"):  []byte(`{"iss":`),
		jwt("no-subject"): []byte(`{"iss":"` + teamURL + `"}`),
	}}
	read := authz.Grants{List: []authz.Grant{{Action: "read", Resource: "audit-log"}}}
	audit := &audittest.Trail{}
	g := &Guard{
		Keys:     keys,
		Denylist: fakeDenylist{"j3": true},
		Checker: fakeChecker{
			"client/" + clientID: {Principal: authz.Principal{Kind: authz.Client, Name: clientID}, Grants: read},
			"user/" + adaID:      {Principal: authz.Principal{Kind: authz.User, Name: "ada@example.com"}, UserID: adaID},
			"app/etl":            {Principal: authz.Principal{Kind: authz.App, Name: "etl"}, Grants: read},
		},
		StaticKeys: fakeStaticKeys{},
		Audit:      audit,
		Now:        func() time.Time { return now },
		Leeway:     time.Minute,
	}
	return g, keys, audit
}

func call(g *Guard, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/api/team/audit-log", nil)
	for _, h := range headers {
		r.Header.Add("Authorization", h)
	}
	info := &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"}, TeamURL: teamURL, TeamHost: teamHost,
		Log: slog.New(slog.DiscardHandler)}
	r = r.WithContext(edge.WithInfo(r.Context(), info))
	rec := httptest.NewRecorder()
	g.Require("audit.log:read", "read", Fixed("audit-log"), func(w http.ResponseWriter, r *http.Request) {
		sub, _ := FromContext(r.Context())
		w.Header().Set("X-Principal", sub.Principal.String())
		w.WriteHeader(http.StatusNoContent)
	}).ServeHTTP(rec, r)
	return rec
}

func TestGuard(t *testing.T) {
	for _, tc := range []struct {
		name      string
		headers   []string
		status    int
		principal string // of an allowed call
		challenge string // a substring of WWW-Authenticate; "" for none
		errCode   string // of the JSON body
		denied    bool   // audited as access.deny
	}{
		{name: "client token with scope and permission", headers: []string{"Bearer " + jwt("client")}, status: 204, principal: "client:" + clientID},
		{name: "scheme is case-insensitive", headers: []string{"bearer " + jwt("client")}, status: 204, principal: "client:" + clientID},
		{name: "within the expiry leeway", headers: []string{"Bearer " + jwt("in-leeway")}, status: 204, principal: "client:" + clientID},
		{name: "AppKey with permission", headers: []string{"AppKey good-appkey"}, status: 204, principal: "app:etl"},
		{name: "no credential", status: 401, challenge: `Bearer realm="acme.gatehouse.test"`, errCode: "unauthorized"},
		{name: "unknown scheme is no credential", headers: []string{"Digest x"}, status: 401, challenge: `Bearer realm=`, errCode: "unauthorized"},
		{name: "two Authorization headers", headers: []string{"Bearer " + jwt("client"), "Bearer " + jwt("client")}, status: 400,
			challenge: `error="invalid_request"`, errCode: "invalid_request"},
		{name: "empty Bearer", headers: []string{"Bearer "}, status: 400, challenge: `error="invalid_request"`, errCode: "invalid_request"},
		{name: "empty AppKey", headers: []string{"AppKey"}, status: 400, challenge: `AppKey realm=`, errCode: "invalid_request"},
		{name: "bad signature", headers: []string{"Bearer " + jwt("forged")}, status: 401, challenge: `error="invalid_token"`, errCode: "invalid_token"},
		{name: "revoked", headers: []string{"Bearer " + jwt("revoked")}, status: 401, challenge: "revoked", errCode: "invalid_token"},
		{name: "expired past the leeway", headers: []string{"Bearer " + jwt("expired")}, status: 401, challenge: "expired", errCode: "invalid_token"},
		{name: "another team's issuer", headers: []string{"Bearer " + jwt("otherteam")}, status: 401, challenge: "not for this team", errCode: "invalid_token"},
		{name: "malformed claims", headers: []string{"Bearer " + jwt("malformed")}, status: 401, challenge: `error="invalid_token"`, errCode: "invalid_token"},
		{name: "missing claims", headers: []string{"Bearer " + jwt("no-subject")}, status: 401, challenge: `error="invalid_token"`, errCode: "invalid_token"},
		{name: "principal gone", headers: []string{"Bearer " + jwt("ghost")}, status: 401, challenge: `error="invalid_token"`, errCode: "invalid_token"},
		{name: "unknown static key", headers: []string{"Bearer not-a-jwt"}, status: 401, challenge: `Bearer realm="acme.gatehouse.test", error="invalid_token"`, errCode: "invalid_token"},
		{name: "unknown AppKey", headers: []string{"AppKey nope"}, status: 401, challenge: `AppKey realm="acme.gatehouse.test", error="invalid_token"`, errCode: "invalid_token"},
		{name: "static key store failing", headers: []string{"AppKey broken"}, status: 503, errCode: "temporarily_unavailable"},
		{name: "missing scope", headers: []string{"Bearer " + jwt("noscope")}, status: 403,
			challenge: `error="insufficient_scope", error_description="the access token lacks scope audit.log:read", scope="audit.log:read"`,
			errCode:   "insufficient_scope", denied: true},
		{name: "missing permission (user token, no grants)", headers: []string{"Bearer " + jwt("user")}, status: 403,
			errCode: "forbidden", denied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, audit := newGuard()
			rec := call(g, tc.headers...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("X-Principal"); got != tc.principal {
				t.Errorf("principal %q, want %q", got, tc.principal)
			}
			ch := rec.Header().Get("WWW-Authenticate")
			if tc.challenge == "" && ch != "" || !strings.Contains(ch, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", ch, tc.challenge)
			}
			if tc.errCode != "" {
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] != tc.errCode {
					t.Errorf("body %s, want error %q", rec.Body, tc.errCode)
				}
			}
			if events := audit.Events(); (len(events) == 1 && events[0].Action == "access.deny") != tc.denied {
				t.Errorf("audited %+v, want a denial audited: %v", events, tc.denied)
			}
		})
	}
}

// A missing permission names the principal, the action and the resource.
func TestDenialBody(t *testing.T) {
	g, _, _ := newGuard()
	rec := call(g, "Bearer "+jwt("user"))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"error": "forbidden", "error_description": "user:ada@example.com may not read audit-log",
		"action": "read", "resource": "audit-log"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %q, want %q", k, body[k], v)
		}
	}
}

// A token verified once is not verified again; an expired one is refused
// from the cache without a verification.
func TestVerifiedOnce(t *testing.T) {
	g, keys, _ := newGuard()
	for range 5 {
		if rec := call(g, "Bearer "+jwt("client")); rec.Code != 204 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if keys.verifies != 1 {
		t.Errorf("%d signature verifications for one token, want 1", keys.verifies)
	}
	now = now.Add(2 * time.Hour)
	defer func() { now = now.Add(-2 * time.Hour) }()
	if rec := call(g, "Bearer "+jwt("client")); rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "expired") {
		t.Errorf("after expiry: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// errDown is what the services return while the database cannot answer.
var errDown = fmt.Errorf("read: %w", store.ErrUnavailable)

// downChecker is fakeChecker failing for one principal id.
type downChecker struct {
	fakeChecker
	failID string
}

func (c downChecker) Resolve(ctx context.Context, team, kind, id string) (authz.Entry, error) {
	if id == c.failID {
		return authz.Entry{}, fmt.Errorf("resolve %s: %w", id, errDown)
	}
	return c.fakeChecker.Resolve(ctx, team, kind, id)
}

func (c downChecker) ResolveName(ctx context.Context, team string, p authz.Principal) (authz.Entry, error) {
	return c.Resolve(ctx, team, p.Kind, p.Name)
}

// When a dependency fails (the database cannot answer and the caches do
// not hold what is asked), the answer is 503 temporarily_unavailable with
// Retry-After at once: never a 500, never a 401 for a credential that may
// be good, never a pass.
func TestDependencyFailures(t *testing.T) {
	admin := authz.Entry{Principal: authz.Principal{Kind: authz.App, Name: "etl"}, Grants: authz.Grants{TeamAdmin: true}}
	for _, tc := range []struct {
		name   string
		breaks func(g *Guard, keys *fakeKeys)
		check  string // a body for POST /api/authz/check by the AppKey of etl, a team admin; "" for the guarded route
		cred   string
	}{
		{"signing keys", func(_ *Guard, k *fakeKeys) { k.fail = errDown }, "", "Bearer " + jwt("client")},
		{"denylist", func(g *Guard, _ *fakeKeys) { g.Denylist = fakeDenylist{"fail": true} }, "", "Bearer " + jwt("client")},
		{"grants of a token's principal", func(g *Guard, _ *fakeKeys) {
			g.Checker = downChecker{g.Checker.(fakeChecker), clientID}
		}, "", "Bearer " + jwt("client")},
		{"static key", func(*Guard, *fakeKeys) {}, "", "AppKey broken"},
		{"grants of a static key's principal", func(g *Guard, _ *fakeKeys) {
			g.Checker = downChecker{g.Checker.(fakeChecker), "etl"}
		}, "", "AppKey good-appkey"},
		{"check: the token's keys", func(g *Guard, k *fakeKeys) {
			g.Checker.(fakeChecker)["app/etl"] = admin
			k.fail = errDown
		}, `{"token":"` + jwt("client") + `","scope":"audit.log:read","action":"read","resource":"audit-log"}`, "AppKey good-appkey"},
		{"check: the principal's grants", func(g *Guard, _ *fakeKeys) {
			c := g.Checker.(fakeChecker)
			c["app/etl"] = admin
			g.Checker = downChecker{c, clientID}
		}, `{"principal":"client:` + clientID + `","scope":"audit.log:read","action":"read","resource":"audit-log"}`, "AppKey good-appkey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, keys, _ := newGuard()
			tc.breaks(g, keys)
			var rec *httptest.ResponseRecorder
			if tc.check == "" {
				rec = call(g, tc.cred)
			} else {
				r := httptest.NewRequest("POST", "/api/authz/check", strings.NewReader(tc.check))
				r.Header.Set("Authorization", tc.cred)
				r = r.WithContext(edge.WithInfo(r.Context(), &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"},
					TeamURL: teamURL, TeamHost: teamHost, Log: slog.New(slog.DiscardHandler)}))
				rec = httptest.NewRecorder()
				g.ServeCheck(rec, r)
			}
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != 503 || body["error"] != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, body %s, Retry-After %q; want 503 temporarily_unavailable with Retry-After",
					rec.Code, rec.Body, rec.Header().Get("Retry-After"))
			}
		})
	}
	// A denial is answered only once it is audited; an allowed call needs
	// no audit event.
	t.Run("audit", func(t *testing.T) {
		g, _, audit := newGuard()
		audit.SetFail(true)
		rec := call(g, "Bearer "+jwt("noscope"))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != 503 || body["error"] != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" ||
			rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("denial with the audit failing: %d %v %v", rec.Code, rec.Header(), body)
		}
		if rec := call(g, "Bearer "+jwt("client")); rec.Code != 204 {
			t.Errorf("allowed call with the audit failing: %d", rec.Code)
		}
	})
}

// The sunset notice goes on every answer to a static key, refusals too.
func TestStaticKeyNotice(t *testing.T) {
	since := now.Add(-24 * time.Hour)
	sunset := now.Add(24 * time.Hour)
	g, _, _ := newGuard()
	g.StaticKeys = fakeStaticKeys{notice: statickey.Notice{DeprecatedSince: &since, SunsetAt: &sunset, Link: "https://docs.example.com/oauth"}}
	for _, key := range []string{"good-appkey", "nope"} {
		rec := call(g, "AppKey "+key)
		h := rec.Header()
		if h.Get("Deprecation") != fmt.Sprintf("@%d", since.Unix()) || h.Get("Sunset") != sunset.Format(http.TimeFormat) ||
			h.Get("Link") != `<https://docs.example.com/oauth>; rel="deprecation"` {
			t.Errorf("key %s (%d): Deprecation %q, Sunset %q, Link %q", key, rec.Code, h.Get("Deprecation"), h.Get("Sunset"), h.Get("Link"))
		}
	}
	g.StaticKeys = nil
	if rec := call(g, "AppKey good-appkey"); rec.Code != 401 {
		t.Errorf("static keys not accepted: %d, want 401", rec.Code)
	}
}
