package gateway_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// proxyRoutes are the routes of the proxying tests, to upstream (with a
// path prefix) and files.
func proxyRoutes(upstream, files string) string {
	return fmt.Sprintf(`
routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: %[1]s/base
  - match: "GET /files/{path...}"
    scope: integration.data-pools
    permission: "read files/{path}"
    upstream: %[2]s
  - match: "GET /v/{version}/things/{id}"
    scope: integration.data-pools
    permission: "read things/{id}"
    upstream: %[2]s
`, upstream, files)
}

func TestProxy(t *testing.T) {
	up := newRecorder(t, "pools")
	files := newRecorder(t, "files")

	client := authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.Client, Name: "c-1"},
		ClientID: "c-1", Scopes: []string{"integration.data-pools:data_push", "integration.data-pools"}, Credential: "access_token"}
	user := authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.User, Name: "ann@example.com"},
		UserID: "u-1", ClientID: "c-2", Scopes: []string{"integration.data-pools"}, Credential: "access_token"}
	app := authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.App, Name: "robot"},
		AllScopes: true, Credential: "app_key"}

	tests := []struct {
		name     string
		subj     authz.Subject
		method   string
		target   string // path and query
		body     string
		header   map[string]string
		upstream *recorder
		wantAuth authCall
		want     seen // Header: only these are compared
	}{
		{
			name: "client credentials, with a path prefix, a query and a body", subj: client,
			method: "POST", target: "/integration/api/pools/42/push?mode=append&x=%2F", body: `{"rows":[1,2,3]}`,
			header: map[string]string{
				"Authorization":         "Bearer secret-token",
				"Cookie":                "session=secret",
				"Content-Type":          "application/json",
				"X-Custom":              "kept",
				"X-Gatehouse-Team":      "evil",
				"x-gatehouse-principal": "user:admin@evil.example",
				"X_Gatehouse_Scopes":    "*",
				"X-Gatehouse-Other":     "spoofed",
				"X-Forwarded-For":       "10.9.9.9",
				"Forwarded":             "for=10.9.9.9",
			},
			upstream: up,
			wantAuth: authCall{"integration.data-pools:data_push", "push", "data-pools/42"},
			want: seen{Method: "POST", Path: "/base/integration/api/pools/42/push", Query: "mode=append&x=%2F",
				Body: `{"rows":[1,2,3]}`,
				Header: http.Header{
					"X-Gatehouse-Team":      {"acme"},
					"X-Gatehouse-Principal": {"client:c-1"},
					"X-Gatehouse-Scopes":    {"integration.data-pools:data_push integration.data-pools"},
					"X-Forwarded-For":       {"127.0.0.1"},
					"X-Forwarded-Host":      {"acme.example.com"},
					"X-Forwarded-Proto":     {"https"},
					"X-Request-Id":          {"req-1"},
					"Content-Type":          {"application/json"},
					"X-Custom":              {"kept"},
				}},
		},
		{
			name: "user token, rest wildcard", subj: user,
			method: "GET", target: "/files/reports/2024/q1.csv", upstream: files,
			wantAuth: authCall{"integration.data-pools", "read", "files/reports/2024/q1.csv"},
			want: seen{Method: "GET", Path: "/files/reports/2024/q1.csv",
				Header: http.Header{
					"X-Gatehouse-Team":      {"acme"},
					"X-Gatehouse-Principal": {"user:ann@example.com"},
					"X-Gatehouse-Scopes":    {"integration.data-pools"},
				}},
		},
		{
			name: "AppKey carries every scope", subj: app,
			method: "GET", target: "/v/2/things/7", header: map[string]string{"Authorization": "AppKey c2VjcmV0"},
			upstream: files,
			wantAuth: authCall{"integration.data-pools", "read", "things/7"},
			want: seen{Method: "GET", Path: "/v/2/things/7",
				Header: http.Header{
					"X-Gatehouse-Team":      {"acme"},
					"X-Gatehouse-Principal": {"app:robot"},
					"X-Gatehouse-Scopes":    {"*"},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := &fakeAuth{subj: tt.subj}
			_, gw := newGateway(t, proxyRoutes(up.URL, files.URL), auth)

			req, err := http.NewRequest(tt.method, gw.URL+tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "acme.example.com"
			for k, v := range tt.header {
				req.Header[k] = []string{v} // as sent, not canonicalized
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if !strings.HasPrefix(string(body), "upstream ") {
				t.Errorf("body %q, want the upstream's", body)
			}

			if diff := cmp.Diff([]authCall{tt.wantAuth}, auth.Calls()); diff != "" {
				t.Errorf("Authorize calls (-want +got):\n%s", diff)
			}

			got := tt.upstream.Last()
			if got.Host != strings.TrimPrefix(tt.upstream.URL, "http://") {
				t.Errorf("upstream Host = %q, want the upstream's, %q", got.Host, tt.upstream.URL)
			}
			for k := range got.Header {
				lk := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
				if lk == "authorization" || lk == "cookie" || lk == "forwarded" {
					t.Errorf("upstream received %s: %q", k, got.Header[k])
				}
				if strings.HasPrefix(lk, "x-gatehouse-") && tt.want.Header[k] == nil {
					t.Errorf("upstream received spoofed %s: %q", k, got.Header[k])
				}
			}
			gotHeader := http.Header{}
			for k := range tt.want.Header {
				gotHeader[k] = got.Header[k]
			}
			got.Header, got.Host = gotHeader, ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("upstream received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDenied(t *testing.T) {
	up := newRecorder(t, "pools")
	auth := allowAll()
	auth.deny = true
	_, gw := newGateway(t, proxyRoutes(up.URL, up.URL), auth)

	resp, err := http.Post(gw.URL+"/integration/api/pools/42/push", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want the authorizer's 403", resp.StatusCode)
	}
	if e := errorBody(t, resp); e.Error != "insufficient_permission" {
		t.Errorf("error %q, want the authorizer's", e.Error)
	}
	if diff := cmp.Diff([]authCall{{"integration.data-pools:data_push", "push", "data-pools/42"}}, auth.Calls()); diff != "" {
		t.Errorf("Authorize calls (-want +got):\n%s", diff)
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

// TestBadPathValue checks that a path value that is not a plain segment is
// refused before the authorizer and the upstream see it.
func TestBadPathValue(t *testing.T) {
	up := newRecorder(t, "pools")
	auth := allowAll()
	_, gw := newGateway(t, proxyRoutes(up.URL, up.URL), auth)

	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/integration/api/pools/a%2Fb/push", 400},          // '/' in a segment
		{"POST", "/integration/api/pools/%2e%2e/push", 400},         // ..
		{"POST", "/integration/api/pools/%2E/push", 400},            // .
		{"POST", "/integration/api/pools/./push", 307},              // net/http cleans a plain ./ by redirecting
		{"POST", "/integration/api/pools/a%20b/push", 400},          // space
		{"POST", "/integration/api/pools/%2A/push", 400},            // *
		{"POST", "/integration/api/pools/p%C3%A9/push", 400},        // non-ASCII
		{"GET", "/files/reports/%2e%2e/secret", 400},                // .. in a rest wildcard
		{"GET", "/files/a%2F%2Fb", 400},                             // empty segment in a rest wildcard
		{"GET", "/files/", 400},                                     // empty resource segment
		{"GET", "/v/a%2Fb/things/1", 400},                           // '/' in a value the resource does not use
		{"GET", "/v/%2E%2E/things/1", 400},                          // .. in a value the resource does not use
		{"GET", "/files/" + strings.Repeat("a/", 300) + "end", 400}, // resource too long
	} {
		name := tt.path
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, gw.URL+tt.path, nil)
			resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if tt.code != http.StatusBadRequest {
				return
			}
			if e := errorBody(t, resp); e.Error != "invalid_request" || !strings.Contains(e.Description, "invalid path value") {
				t.Errorf("error %+v", e)
			}
		})
	}
	if calls := auth.Calls(); len(calls) != 0 {
		t.Errorf("Authorize was called: %v", calls)
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

func TestUnmatched(t *testing.T) {
	up := newRecorder(t, "pools")
	_, gw := newGateway(t, proxyRoutes(up.URL, up.URL), allowAll())

	tests := []struct {
		method, path string
		code         int
		errCode      string
		allow        string
	}{
		{"GET", "/nowhere", http.StatusNotFound, "not_found", ""},
		{"POST", "/integration/api/pools/42", http.StatusNotFound, "not_found", ""},
		{"GET", "/integration/api/pools/42/push", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"DELETE", "/files/a", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, gw.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.code)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		if e := errorBody(t, resp); e.Error != tt.errCode {
			t.Errorf("%s %s: error %q, want %q", tt.method, tt.path, e.Error, tt.errCode)
		}
		resp.Body.Close()
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, gw := newGateway(t, proxyRoutes(closed, closed), allowAll())

	resp, err := http.Post(gw.URL+"/integration/api/pools/42/push", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if e := errorBody(t, resp); e.Error != "bad_gateway" {
		t.Errorf("error %q, want bad_gateway", e.Error)
	}
}

func TestUpstreamTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	_, gw := newGateway(t, fmt.Sprintf(`
routes:
  - match: "GET /integration/slow"
    scope: integration.data-pools
    permission: "read data-pools"
    upstream: %s
    timeout: 100ms
`, slow.URL), allowAll())

	start := time.Now()
	resp, err := http.Get(gw.URL + "/integration/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", resp.StatusCode)
	}
	if e := errorBody(t, resp); e.Error != "gateway_timeout" {
		t.Errorf("error %q, want gateway_timeout", e.Error)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about the route's 100ms", d)
	}
}

// TestTableHandler uses a Table without a Gateway, as Load and Handler
// allow.
func TestTableHandler(t *testing.T) {
	up := newRecorder(t, "pools")
	tab, err := gateway.Load(writeRoutes(t, "", proxyRoutes(up.URL, up.URL)), catalog(t))
	if err != nil {
		t.Fatal(err)
	}
	auth := allowAll()
	rec := httptest.NewRecorder()
	tab.Handler(auth).ServeHTTP(rec, httptest.NewRequest("GET", "http://acme.example.com/v/1/things/9", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "upstream pools" {
		t.Errorf("answer %d %q", rec.Code, rec.Body)
	}
	if got := up.Last().Header.Get("X-Gatehouse-Team"); got != "acme" {
		t.Errorf("X-Gatehouse-Team %q, want the subject's team without request info", got)
	}
}
