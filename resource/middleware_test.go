package resource_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/resource"
)

// whoami answers the principal that the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := resource.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"sub": p.Subject, "client_id": p.ClientID, "scopes": p.Scopes, "client": p.IsClient()})
})

type answer struct {
	code      int
	challenge string         // WWW-Authenticate, exactly
	body      map[string]any // compared when set
}

func serve(h http.Handler, req *http.Request) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return answer{rec.Code, rec.Header().Get("WWW-Authenticate"), body}
}

func TestMiddleware(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{})
	h := v.Middleware(whoami)
	now := clk.Now()
	tok := ti.sign("k1", ti.claims(now))
	expired := ti.sign("k1", with(ti.claims(now), "exp", now.Add(-time.Hour).Unix()))
	foreign := ti.sign("k1", with(ti.claims(now), "aud", "beta.gatehouse.test"))
	realm := `Bearer realm="` + ti.Host + `"`
	noToken := answer{401, realm, map[string]any{"error": "unauthorized",
		"error_description": "this endpoint requires a bearer token in the Authorization header"}}
	invalid := func(desc string) answer {
		return answer{401, realm + `, error="invalid_token", error_description="` + desc + `"`,
			map[string]any{"error": "invalid_token", "error_description": desc}}
	}
	ok := answer{200, "", map[string]any{"sub": "client-1", "client_id": "client-1",
		"scopes": []any{"audit.log:read", "team.user-group-info:read"}, "client": true}}

	for _, tc := range []struct {
		name  string
		build func() *http.Request
		want  answer
	}{
		{"bearer", func() *http.Request { return get("Bearer " + tok) }, ok},
		{"scheme in lower case", func() *http.Request { return get("bearer " + tok) }, ok},
		{"scheme in upper case, spaces", func() *http.Request { return get("BEARER   " + tok + " ") }, ok},
		{"no credential", func() *http.Request { return get("") }, noToken},
		{"another scheme", func() *http.Request { return get("Basic " + tok) }, noToken},
		{"AppKey scheme", func() *http.Request { return get("AppKey " + tok) }, noToken},
		{"token in the query string", func() *http.Request {
			return httptest.NewRequest("GET", "/api?access_token="+url.QueryEscape(tok), nil)
		}, noToken},
		{"token in the body", func() *http.Request {
			r := httptest.NewRequest("POST", "/api", strings.NewReader("access_token="+url.QueryEscape(tok)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, noToken},
		{"empty bearer", func() *http.Request { return get("Bearer ") }, invalid("the access token is malformed")},
		{"garbage", func() *http.Request { return get("Bearer x.y.z") }, invalid("the access token is malformed")},
		{"expired", func() *http.Request { return get("Bearer " + expired) }, invalid("the access token expired")},
		{"another audience", func() *http.Request { return get("Bearer " + foreign) },
			invalid("the access token is not for this resource server")},
		{"two Authorization headers", func() *http.Request {
			r := get("Bearer " + tok)
			r.Header.Add("Authorization", "Bearer "+tok)
			return r
		}, answer{400, realm + `, error="invalid_request", error_description="send one Authorization header"`,
			map[string]any{"error": "invalid_request", "error_description": "send one Authorization header"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(h, tc.build())
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(answer{})); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func get(authorization string) *http.Request {
	r := httptest.NewRequest("GET", "/api", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

func TestMiddlewareKeysUnavailable(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{})
	ti.fail.Store(true)
	got := serve(v.Middleware(whoami), get("Bearer "+ti.sign("k1", ti.claims(clk.Now()))))
	want := answer{503, "", map[string]any{"error": "temporarily_unavailable",
		"error_description": "the access token could not be checked; try again"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(answer{})); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

func TestRequireScope(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{})
	tok := ti.sign("k1", ti.claims(clk.Now()))
	for _, tc := range []struct {
		name  string
		h     http.Handler
		token string
		want  answer
	}{
		{"has the scope", v.Middleware(v.RequireScope("audit.log:read")(whoami)), tok, answer{code: 200}},
		{"lacks the scope", v.Middleware(v.RequireScope("user-provisioning.scim")(whoami)), tok,
			answer{403, `Bearer error="insufficient_scope", scope="user-provisioning.scim"`, map[string]any{
				"error": "insufficient_scope", "error_description": "this request requires scope user-provisioning.scim",
				"scope": "user-provisioning.scim"}}},
		{"no token", v.Middleware(v.RequireScope("audit.log:read")(whoami)), "", answer{code: 401,
			challenge: `Bearer realm="` + ti.Host + `"`}},
		{"without the middleware", v.RequireScope("audit.log:read")(whoami), tok, answer{code: 401,
			challenge: `Bearer realm="` + ti.Host + `"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := get("")
			if tc.token != "" {
				req = get("Bearer " + tc.token)
			}
			got := serve(tc.h, req)
			if tc.want.body == nil {
				got.body = nil
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(answer{})); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
