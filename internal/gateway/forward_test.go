package gateway_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

// forwardRoutes has a decision-only route, a route with an upstream (both
// decided by forward authentication), and a route for HEAD through GET.
const forwardRoutes = `routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
  - match: "GET /integration/api/pools/{pool}"
    scope: integration.data-pools
    permission: "read data-pools/{pool}"
    upstream: http://127.0.0.1:9
  - match: "GET /files/{path...}"
    scope: integration.data-pools
    permission: "read files"
`

// Proxies' addresses in these tests.
const (
	proxyAddr  = "10.0.0.5:40000"
	clientAddr = "203.0.113.9:40000"
)

func trustTen(r *http.Request) bool { return strings.HasPrefix(r.RemoteAddr, "10.") }

// newForward is a gateway of forwardRoutes that trusts 10.0.0.0/8.
func newForward(t testing.TB, auth gateway.Authorizer) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(gateway.Options{Path: writeRoutes(t, "", forwardRoutes), Scopes: catalog(t), Auth: auth, TrustedPeer: trustTen})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// serveRaw reads a raw HTTP request, as a proxy sends it, and serves it
// from peer with the gateway's forward authentication: the Envoy prefix
// or ForwardPath.
func serveRaw(t *testing.T, g *gateway.Gateway, peer, raw string) *httptest.ResponseRecorder {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n"))))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	r.RemoteAddr = peer
	w := httptest.NewRecorder()
	h := http.HandlerFunc(g.ServeForward)
	if strings.HasPrefix(r.URL.Path, gateway.EnvoyPrefix) {
		h = g.ServeEnvoy
	}
	teamInfo(h).ServeHTTP(w, r)
	return w
}

// The requests of each proxy as it sends them, written after their
// sources (NGINX and Caddy as the README configures them; Traefik's
// ForwardAuth middleware, pkg/middlewares/auth/forward.go, with its
// defaults; Envoy's ext_authz HTTP client, ext_authz_http_impl.cc, with
// path_prefix /api/authz/envoy): each is decided with the route and the
// resource of the original request, and answered 200 with the
// X-Gatehouse-* headers and no body.
func TestForwardRequestShapes(t *testing.T) {
	tests := []struct {
		name, raw string
		want      authCall
	}{
		{"nginx auth_request", `GET /api/authz/forward HTTP/1.1
Host: acme.example.com
X-Original-Method: POST
X-Original-URI: /integration/api/pools/42/push?mode=append
X-Forwarded-Method: POST
X-Forwarded-Uri: /integration/api/pools/42/push?mode=append
X-Forwarded-Host: api.example.com
X-Forwarded-Proto: https
X-Forwarded-For: 198.51.100.7
Authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig
User-Agent: curl/8.5.0
Connection: close

`, authCall{"integration.data-pools:data_push", "push", "data-pools/42"}},
		{"nginx auth_request, X-Original-* alone", `GET /api/authz/forward HTTP/1.0
Host: acme.example.com
X-Original-Method: POST
X-Original-URI: /integration/api/pools/7/push
Authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig

`, authCall{"integration.data-pools:data_push", "push", "data-pools/7"}},
		{"Caddy forward_auth", `GET /api/authz/forward HTTP/1.1
Host: acme.example.com
User-Agent: curl/8.5.0
Accept: */*
Authorization: AppKey a2V5
X-Forwarded-For: 198.51.100.7
X-Forwarded-Host: api.example.com
X-Forwarded-Method: POST
X-Forwarded-Proto: http
X-Forwarded-Uri: /integration/api/pools/42/push
Accept-Encoding: gzip

`, authCall{"integration.data-pools:data_push", "push", "data-pools/42"}},
		{"Traefik ForwardAuth", `GET /api/authz/forward HTTP/1.1
Host: acme.example.com
User-Agent: Go-http-client/1.1
Accept: application/json
Authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig
X-Forwarded-For: 198.51.100.7
X-Forwarded-Host: api.example.com
X-Forwarded-Method: GET
X-Forwarded-Proto: https
X-Forwarded-Uri: /integration/api/pools/9
Accept-Encoding: gzip

`, authCall{"integration.data-pools", "read", "data-pools/9"}},
		{"Traefik ForwardAuth, a HEAD of a GET route", `GET /api/authz/forward HTTP/1.1
Host: acme.example.com
Authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig
X-Forwarded-Method: HEAD
X-Forwarded-Uri: /files/a/b.txt
X-Forwarded-Host: api.example.com
X-Forwarded-Proto: https

`, authCall{"integration.data-pools", "read", "files"}},
		{"Envoy ext_authz", `POST /api/authz/envoy/integration/api/pools/42/push?mode=append HTTP/1.1
host: acme.example.com
authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig
content-length: 0
x-envoy-expected-rq-timeout-ms: 250
x-request-id: 6f1e3c4a-8f0b-4c1e-9b5d-2a7e0c9d1f3b

`, authCall{"integration.data-pools:data_push", "push", "data-pools/42"}},
		{"Envoy ext_authz, a GET", `GET /api/authz/envoy/integration/api/pools/3 HTTP/1.1
host: acme.example.com
authorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig
content-length: 0

`, authCall{"integration.data-pools", "read", "data-pools/3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := allowAll()
			w := serveRaw(t, newForward(t, auth), proxyAddr, tc.raw)
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d, body %q; want 200 without a body", w.Code, w.Body)
			}
			h := w.Result().Header
			for k, v := range map[string]string{"X-Gatehouse-Team": "acme", "X-Gatehouse-Principal": "client:3f2c9a70-6f7e-4d0a-9d51-7c6f0e2b1a11",
				"X-Gatehouse-Scopes": "integration.data-pools:data_push integration.data-pools", "Cache-Control": "no-store"} {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if h.Get("Location") != "" {
				t.Errorf("Location %q: never a redirect", h.Get("Location"))
			}
			if calls := auth.Calls(); len(calls) != 1 || calls[0] != tc.want {
				t.Errorf("authorized %v, want %v", calls, tc.want)
			}
		})
	}
}

// What forward authentication refuses before any credential is looked at:
// a peer that is no trusted proxy, whatever it sends (403); a proxy that
// sends no original request (400); original requests a client may have
// chosen or that no route takes (403). Never a redirect, and the
// authorizer is never asked.
func TestForwardRefusals(t *testing.T) {
	const head = "GET /api/authz/forward HTTP/1.1\nHost: acme.example.com\nAuthorization: Bearer eyJhbGciOiJFUzM4NCJ9.e30.sig\n"
	good := head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n"
	tests := []struct {
		name, peer, raw string
		status          int
		desc            string
	}{
		{"a client, not a trusted proxy", clientAddr, good, 403, "answers only the proxies named by --trusted-proxies"},
		{"Envoy's shape from a client", clientAddr, "POST /api/authz/envoy/integration/api/pools/42/push HTTP/1.1\nHost: acme.example.com\n\n", 403,
			"--trusted-proxies"},
		{"no original request", proxyAddr, head + "\n", 400, "the proxy sent neither X-Forwarded-Method nor X-Original-Method"},
		{"a URI without a method", proxyAddr, head + "X-Original-URI: /integration/api/pools/42/push\n\n", 400, "neither X-Forwarded-Method nor X-Original-Method"},
		{"a method without a URI", proxyAddr, head + "X-Forwarded-Method: POST\n\n", 400, "neither X-Forwarded-Uri nor X-Original-URI"},
		{"the two URIs differ", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/42/push\nX-Original-URI: /integration/api/pools/1/push\n\n", 403,
			"X-Forwarded-Uri and X-Original-URI with different values"},
		{"the two methods differ", proxyAddr, head + "X-Forwarded-Method: POST\nX-Original-Method: GET\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n", 403,
			"different values"},
		{"a URI sent twice", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/42/push\nX-Forwarded-Uri: /integration/api/pools/1/push\n\n", 403,
			"more than once"},
		{"no route", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/other\n\n", 403, "no route matches POST /integration/api/other"},
		{"another method", proxyAddr, head + "X-Forwarded-Method: DELETE\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n", 403, "no route matches DELETE"},
		{"a method in lower case", proxyAddr, head + "X-Forwarded-Method: post\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n", 403, "not an HTTP method"},
		{"an absolute URI", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: http://evil.example/integration/api/pools/42/push\n\n", 403, "not a path"},
		{"an escaped slash", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/4%2F2/push\n\n", 403, "may not hold '/'"},
		{"a dot segment", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/x/../pools/42/push\n\n", 403, `are not segments`},
		{"an empty segment", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration//api/pools/42/push\n\n", 403, "empty segment"},
		{"a path a ServeMux would redirect", proxyAddr, head + "X-Forwarded-Method: GET\nX-Forwarded-Uri: /files\n\n", 403, "no route matches GET /files"},
		{"a path value that is no resource", proxyAddr, head + "X-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/a+b/push\n\n", 403, "invalid path value"},
		{"an Envoy path outside the prefix", proxyAddr, "GET /api/authz/envoyx/integration HTTP/1.1\nHost: acme.example.com\n\n", 400, "path_prefix"},
		{"an Envoy path that no route takes", proxyAddr, "GET /api/authz/envoy HTTP/1.1\nHost: acme.example.com\n\n", 403, "no route matches GET /"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := allowAll()
			w := serveRaw(t, newForward(t, auth), tc.peer, tc.raw)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.desc) {
				t.Errorf("body %s, want it to say %q", w.Body, tc.desc)
			}
			if w.Header().Get("Location") != "" || w.Header().Get("X-Gatehouse-Principal") != "" {
				t.Errorf("headers %v", w.Header())
			}
			if calls := auth.Calls(); len(calls) != 0 {
				t.Errorf("authorizer asked %v", calls)
			}
		})
	}
}

// A denial is the authorizer's own answer; a gateway without a route file
// refuses everything; without TrustedPeer nobody is trusted.
func TestForwardDenials(t *testing.T) {
	const raw = "GET /api/authz/forward HTTP/1.1\nHost: acme.example.com\nX-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n"
	auth := allowAll()
	auth.deny = true
	if w := serveRaw(t, newForward(t, auth), proxyAddr, raw); w.Code != 403 || !strings.Contains(w.Body.String(), "no push on data-pools/42") {
		t.Errorf("denied: %d %s", w.Code, w.Body)
	}

	g, err := gateway.New(gateway.Options{Scopes: catalog(t), Auth: allowAll(), TrustedPeer: trustTen})
	if err != nil {
		t.Fatal(err)
	}
	if w := serveRaw(t, g, proxyAddr, raw); w.Code != 403 || !strings.Contains(w.Body.String(), "no route matches") {
		t.Errorf("no route file: %d %s", w.Code, w.Body)
	}

	g, err = gateway.New(gateway.Options{Path: writeRoutes(t, "", forwardRoutes), Scopes: catalog(t), Auth: allowAll()})
	if err != nil {
		t.Fatal(err)
	}
	if w := serveRaw(t, g, proxyAddr, raw); w.Code != 403 || !strings.Contains(w.Body.String(), "--trusted-proxies") {
		t.Errorf("no trusted peers: %d %s", w.Code, w.Body)
	}
}

// The gateway does not serve a decision-only route (its proxy makes the
// call); forward authentication decides it and the routes with an
// upstream alike; a reload changes both.
func TestForwardDecisionOnlyAndReload(t *testing.T) {
	auth := allowAll()
	dir := t.TempDir()
	path := writeRoutes(t, dir, forwardRoutes)
	g, err := gateway.New(gateway.Options{Path: path, Scopes: catalog(t), Auth: auth, TrustedPeer: trustTen})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	teamInfo(g).ServeHTTP(w, httptest.NewRequest("POST", "http://acme.example.com/integration/api/pools/42/push", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("the gateway answered a decision-only route %d, want 404", w.Code)
	}
	const push = "GET /api/authz/forward HTTP/1.1\nHost: acme.example.com\nX-Forwarded-Method: POST\nX-Forwarded-Uri: /integration/api/pools/42/push\n\n"
	if w := serveRaw(t, g, proxyAddr, push); w.Code != http.StatusOK {
		t.Errorf("forward: %d %s", w.Code, w.Body)
	}

	writeRoutes(t, dir, `routes:
  - match: "POST /integration/api/pools/{pool}/append"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
`)
	if err := g.Reload(path); err != nil {
		t.Fatal(err)
	}
	if w := serveRaw(t, g, proxyAddr, push); w.Code != http.StatusForbidden {
		t.Errorf("after the reload, the old route: %d %s", w.Code, w.Body)
	}
	appendReq := strings.Replace(push, "/push", "/append", 1)
	if w := serveRaw(t, g, proxyAddr, appendReq); w.Code != http.StatusOK {
		t.Errorf("after the reload, the new route: %d %s", w.Code, w.Body)
	}

	writeRoutes(t, dir, "routes: [{match: GET /x}]\n")
	if err := g.Reload(path); err == nil {
		t.Fatal("a bad file reloaded")
	}
	if w := serveRaw(t, g, proxyAddr, appendReq); w.Code != http.StatusOK {
		t.Errorf("after a bad reload, the routes before it: %d %s", w.Code, w.Body)
	}
}

// FuzzForward decides any original method and URI: the answer is 200,
// 400 or 403, never a redirect; only a trusted proxy is ever decided for;
// and a request that is allowed was decided with a route of the file, for
// a resource made of plain segments.
func FuzzForward(f *testing.F) {
	for _, s := range []struct{ method, uri string }{
		{"POST", "/integration/api/pools/42/push"}, {"GET", "/integration/api/pools/42"}, {"HEAD", "/files/a/b"},
		{"GET", "/files"}, {"POST", "/integration/api/pools/%2e%2e/push"}, {"GET", "//x"}, {"get", "/files/x"},
		{"POST", "/integration/api/pools/42/push?x=1#f"}, {"GET", "http://h/files/x"}, {"GET", "*"}, {"CONNECT", "/files/x"},
		{"GET", "/files/%ef%bc%8e%ef%bc%8e/x"}, {"GET", "/integration/api/pools/4%2F2"},
	} {
		f.Add(s.method, s.uri, true)
		f.Add(s.method, s.uri, false)
	}
	auth := allowAll()
	g := newForward(f, auth)
	f.Fuzz(func(t *testing.T, method, uri string, trusted bool) {
		r := httptest.NewRequest("GET", "http://acme.example.com"+gateway.ForwardPath, nil)
		r.Header["X-Forwarded-Method"] = []string{method}
		r.Header["X-Forwarded-Uri"] = []string{uri}
		r.RemoteAddr = clientAddr
		if trusted {
			r.RemoteAddr = proxyAddr
		}
		before := len(auth.Calls())
		w := httptest.NewRecorder()
		teamInfo(http.HandlerFunc(g.ServeForward)).ServeHTTP(w, r)
		calls := auth.Calls()[before:]
		switch {
		case w.Code != 200 && w.Code != 400 && w.Code != 403:
			t.Fatalf("%q %q: status %d", method, uri, w.Code)
		case w.Header().Get("Location") != "":
			t.Fatalf("%q %q: redirected to %q", method, uri, w.Header().Get("Location"))
		case !trusted && (w.Code != 403 || len(calls) != 0):
			t.Fatalf("%q %q from a client: %d, authorizer asked %v", method, uri, w.Code, calls)
		case w.Code == 200 && len(calls) != 1:
			t.Fatalf("%q %q allowed after %d decisions", method, uri, len(calls))
		}
		for _, c := range calls {
			ok := c == authCall{"integration.data-pools", "read", "files"} || c.Scope == "integration.data-pools:data_push" && c.Action == "push" ||
				c.Scope == "integration.data-pools" && c.Action == "read"
			if !ok || strings.Contains(c.Resource, "..") || strings.Contains(c.Resource, "//") {
				t.Fatalf("%q %q: decided %+v", method, uri, c)
			}
		}
	})
}
