package resource_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/resource"
)

// checkServer mimics Gatehouse's POST /api/authz/check: it requires the
// resource server's credential, and allows what grants lists for the token.
type checkServer struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64 // answer this status instead, when not 0

	mu       sync.Mutex
	grants   map[string]bool // "<action> <resource>"
	revoked  bool            // answer invalid_token
	lastBody map[string]any
}

const rsCredential = "rs-credential"

func newCheckServer(t *testing.T, grants ...string) *checkServer {
	cs := &checkServer{grants: map[string]bool{}}
	for _, g := range grants {
		cs.grants[g] = true
	}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.hits.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/api/authz/check" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+rsCredential {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_token","error_description":"no credential"}`))
			return
		}
		if s := cs.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			w.Write([]byte(`{"error":"server_error","error_description":"broken"}`))
			return
		}
		var req struct {
			Token, Scope, Action, Resource string
		}
		var raw map[string]any
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &raw) != nil || json.Unmarshal(b, &req) != nil {
			w.WriteHeader(400)
			return
		}
		cs.mu.Lock()
		cs.lastBody = raw
		allowed, revoked := cs.grants[req.Action+" "+req.Resource], cs.revoked
		cs.mu.Unlock()
		resp := map[string]any{"allowed": allowed, "reason": "", "principal": "client:client-1",
			"scope": req.Scope, "action": req.Action, "resource": req.Resource}
		switch {
		case revoked:
			resp["allowed"], resp["reason"] = false, "invalid_token"
		case req.Token == "":
			resp["allowed"], resp["reason"] = false, "invalid_token"
		case req.Scope == "user-provisioning.scim":
			resp["allowed"], resp["reason"] = false, "insufficient_scope"
		case !allowed:
			resp["reason"] = "missing_permission"
		}
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *checkServer) body() map[string]any {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.lastBody
}

func (cs *checkServer) set(f func(cs *checkServer)) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	f(cs)
}

func checkValidator(t *testing.T, ti *testIssuer, cs *checkServer, clk *clock) *resource.Validator {
	return ti.validator(t, clk, resource.Config{CheckURL: cs.srv.URL + "/api/authz/check",
		CheckCredential: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: rsCredential})})
}

func TestCheck(t *testing.T) {
	ti := newTestIssuer(t)
	cs := newCheckServer(t, "push data-pools/7")
	clk := newClock()
	v := checkValidator(t, ti, cs, clk)
	ctx := context.Background()
	raw := ti.sign("k1", ti.claims(clk.Now()))
	p, err := v.Validate(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	check := func(scope, action, res string, want bool, wantHits int64) {
		t.Helper()
		got, err := v.Check(ctx, p, scope, action, res)
		if err != nil || got != want {
			t.Fatalf("Check(%s, %s, %s) = %v, %v; want %v", scope, action, res, got, err, want)
		}
		if n := cs.hits.Load(); n != wantHits {
			t.Fatalf("%d calls to the check endpoint, want %d", n, wantHits)
		}
	}
	check("integration.data-pools:data_push", "push", "data-pools/7", true, 1)
	want := map[string]any{"token": raw, "scope": "integration.data-pools:data_push", "action": "push", "resource": "data-pools/7"}
	if diff := cmp.Diff(want, cs.body()); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	// Answers are cached per token, scope, action and resource.
	check("integration.data-pools:data_push", "push", "data-pools/7", true, 1)
	check("integration.data-pools:data_push", "push", "data-pools/8", false, 2)
	check("integration.data-pools:data_push", "push", "data-pools/8", false, 2)
	check("other", "push", "data-pools/7", true, 3)
	// The same token validated again (a cache hit) shares the answers.
	p2, err := v.Validate(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.Check(ctx, p2, "other", "push", "data-pools/7"); !ok || err != nil || cs.hits.Load() != 3 {
		t.Errorf("Check with the token revalidated = %v, %v, %d calls", ok, err, cs.hits.Load())
	}
	// A principal built by hand is keyed by its token too.
	if ok, err := v.Check(ctx, &resource.Principal{Token: raw}, "other", "push", "data-pools/7"); !ok || err != nil || cs.hits.Load() != 3 {
		t.Errorf("Check with a principal built by hand = %v, %v, %d calls", ok, err, cs.hits.Load())
	}

	// After the TTL (5 s by default), Gatehouse is asked again.
	cs.set(func(cs *checkServer) { cs.grants["push data-pools/8"] = true })
	clk.Add(4 * time.Second)
	check("integration.data-pools:data_push", "push", "data-pools/8", false, 3)
	clk.Add(time.Second)
	check("integration.data-pools:data_push", "push", "data-pools/8", true, 4)

	d, err := v.Decide(ctx, p, "integration.data-pools:data_push", "delete", "data-pools/8")
	if err != nil {
		t.Fatal(err)
	}
	if want := (resource.Decision{Allowed: false, Reason: resource.ReasonMissingPermission, Principal: "client:client-1"}); d != want {
		t.Errorf("Decide = %+v, want %+v", d, want)
	}
}

// The check cache never outlives the token.
func TestCheckCacheBoundedByExpiry(t *testing.T) {
	ti := newTestIssuer(t)
	cs := newCheckServer(t, "read x")
	clk := newClock()
	v := checkValidator(t, ti, cs, clk)
	p := &resource.Principal{Token: "t", Expiry: clk.Now().Add(2 * time.Second)}
	for range 2 {
		if _, err := v.Check(context.Background(), p, "", "read", "x"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Second)
	if _, err := v.Check(context.Background(), p, "", "read", "x"); err != nil {
		t.Fatal(err)
	}
	if n := cs.hits.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	if _, ok := cs.body()["scope"]; ok {
		t.Errorf("an empty scope was sent: %v", cs.body())
	}
}

// Failures are errors wrapping ErrCheckFailed, never a permission, and are
// not cached.
func TestCheckErrors(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	p := &resource.Principal{Token: "tok", Expiry: clk.Now().Add(time.Hour)}
	cred := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: rsCredential})
	for _, tc := range []struct {
		name    string
		cfg     func(cs *checkServer) resource.Config
		p       *resource.Principal
		wantErr string
	}{
		{"server error", func(cs *checkServer) resource.Config {
			cs.status.Store(500)
			return resource.Config{CheckURL: cs.srv.URL + "/api/authz/check", CheckCredential: cred}
		}, p, "answered 500 server_error: broken"},
		{"not found", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: cs.srv.URL + "/nowhere", CheckCredential: cred}
		}, p, "answered 404"},
		{"bad credential", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: cs.srv.URL + "/api/authz/check",
				CheckCredential: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "wrong"})}
		}, p, "answered 401 invalid_token"},
		{"no credential", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: cs.srv.URL + "/api/authz/check"}
		}, p, "CheckCredential is not set"},
		{"credential fails", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: cs.srv.URL + "/api/authz/check", CheckCredential: failingSource{}}
		}, p, "get the check credential: no token for you"},
		{"unreachable", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: "http://127.0.0.1:1/api/authz/check", CheckCredential: cred}
		}, p, "connect"},
		{"no token", func(cs *checkServer) resource.Config {
			return resource.Config{CheckURL: cs.srv.URL + "/api/authz/check", CheckCredential: cred}
		}, &resource.Principal{}, "no token to check"},
		{"no allowed in the answer", func(cs *checkServer) resource.Config {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"reason":""}`))
			}))
			t.Cleanup(srv.Close)
			return resource.Config{CheckURL: srv.URL, CheckCredential: cred}
		}, p, `no "allowed"`},
		{"not JSON", func(cs *checkServer) resource.Config {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`allowed`))
			}))
			t.Cleanup(srv.Close)
			return resource.Config{CheckURL: srv.URL, CheckCredential: cred}
		}, p, "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := newCheckServer(t, "read x")
			v := ti.validator(t, clk, tc.cfg(cs))
			for range 2 {
				ok, err := v.Check(context.Background(), tc.p, "s", "read", "x")
				if ok || !errors.Is(err, resource.ErrCheckFailed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Check = %v, %v; want false and an ErrCheckFailed that says %q", ok, err, tc.wantErr)
				}
			}
		})
	}

	// After a failure, the next answer is Gatehouse's.
	cs := newCheckServer(t, "read x")
	v := checkValidator(t, ti, cs, clk)
	cs.status.Store(503)
	if _, err := v.Check(context.Background(), p, "s", "read", "x"); err == nil {
		t.Fatal("no error")
	}
	cs.status.Store(0)
	if ok, err := v.Check(context.Background(), p, "s", "read", "x"); !ok || err != nil {
		t.Errorf("Check after recovery = %v, %v", ok, err)
	}
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) { return nil, errors.New("no token for you") }

func TestRequirePermission(t *testing.T) {
	ti := newTestIssuer(t)
	cs := newCheckServer(t, "push data-pools/7")
	clk := newClock()
	v := checkValidator(t, ti, cs, clk)
	tok := ti.sign("k1", with(ti.claims(clk.Now()), "scope", "integration.data-pools:data_push user-provisioning.scim"))
	mux := http.NewServeMux()
	pool := func(r *http.Request) string { return "data-pools/" + r.PathValue("pool") }
	mux.Handle("POST /pools/{pool}/push", v.Middleware(v.RequirePermission("integration.data-pools:data_push", "push", pool)(whoami)))
	mux.Handle("POST /pools/{pool}/read", v.Middleware(v.RequirePermission("integration.data-pools:read", "read", pool)(whoami)))
	mux.Handle("POST /scim/{pool}", v.Middleware(v.RequirePermission("user-provisioning.scim", "manage", pool)(whoami)))
	mux.Handle("POST /bare/{pool}", v.RequirePermission("integration.data-pools:data_push", "push", pool)(whoami))

	for _, tc := range []struct {
		name   string
		path   string
		before func()
		want   answer
	}{
		{"allowed", "/pools/7/push", nil, answer{code: 200}},
		{"missing permission", "/pools/8/push", nil, answer{403, "", map[string]any{"error": "forbidden",
			"error_description": "client:client-1 may not push data-pools/8", "action": "push", "resource": "data-pools/8"}}},
		{"scope missing from the token", "/pools/7/read", nil, answer{403,
			`Bearer error="insufficient_scope", scope="integration.data-pools:read"`, map[string]any{"error": "insufficient_scope",
				"error_description": "this request requires scope integration.data-pools:read", "scope": "integration.data-pools:read"}}},
		{"scope refused by Gatehouse", "/scim/7", nil, answer{403,
			`Bearer error="insufficient_scope", scope="user-provisioning.scim"`, map[string]any{"error": "insufficient_scope",
				"error_description": "this request requires scope user-provisioning.scim", "scope": "user-provisioning.scim"}}},
		{"token no longer valid at Gatehouse", "/pools/9/push", func() { cs.set(func(cs *checkServer) { cs.revoked = true }) },
			answer{401, `Bearer realm="` + ti.Host + `", error="invalid_token", error_description="the access token is not valid"`,
				map[string]any{"error": "invalid_token", "error_description": "the access token is not valid"}}},
		{"check fails", "/pools/10/push", func() { cs.status.Store(500) }, answer{503, "", map[string]any{
			"error": "temporarily_unavailable", "error_description": "the permission could not be checked; try again"}}},
		{"without the middleware", "/bare/7", nil, answer{code: 401, challenge: `Bearer realm="` + ti.Host + `"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			req := httptest.NewRequest("POST", tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			got := serve(mux, req)
			if tc.want.body == nil {
				got.body = nil
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(answer{})); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
