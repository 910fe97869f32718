package gateway

import (
	"bufio"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/scope"
)

// allow is an Authorizer that lets every call through.
type allow struct{}

func (allow) Authorize(http.ResponseWriter, *http.Request, string, string, string) (authz.Subject, bool) {
	return authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.App, Name: "fuzz"}, AllScopes: true}, true
}

// recordingTransport answers every request 200 and keeps the last one.
type recordingTransport struct {
	mu   sync.Mutex
	last *http.Request
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.last = r
	t.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func fuzzCatalog(t testing.TB) Scopes {
	c, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// literalPrefix is the part of p's path before its first wildcard: every
// path p matches starts with it.
func literalPrefix(p pattern) string {
	if i := strings.IndexByte(p.path, '{'); i >= 0 {
		return p.path[:i]
	}
	return p.path
}

// resolutions are the ways an upstream may read an escaped path: as
// unescaped once or twice, with backslashes as slashes and path
// parameters (";x") dropped, then with dot segments resolved.
func resolutions(escaped string) []string {
	var out []string
	s := escaped
	for range 2 {
		u, err := url.PathUnescape(s)
		if err != nil {
			break
		}
		s = u
		segs := strings.Split(strings.ReplaceAll(s, `\`, "/"), "/")
		for i, seg := range segs {
			segs[i], _, _ = strings.Cut(seg, ";")
		}
		out = append(out, path.Clean(strings.Join(segs, "/")))
	}
	return out
}

// under reports whether the clean path p is prefix or below it.
func under(p, prefix string) bool {
	prefix = path.Clean(prefix)
	return p == prefix || strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/")
}

// FuzzGatewayPath checks the gateway's promise about paths: for any route
// (match, upstream path prefix, whether the permission uses the
// wildcards) and any request line, what reaches the upstream stays under
// the upstream's prefix followed by the match's literal prefix, however
// the upstream unescapes and resolves it; and no override, credential or
// X-Gatehouse-* header of the caller's reaches it.
func FuzzGatewayPath(f *testing.F) {
	for _, s := range []struct {
		match, prefix, target, header string
		used                          bool
	}{
		{"GET /files/{path...}", "/base", "/files/a/b", "X-Real-IP", true},
		{"GET /files/{path...}", "", "/files/..%5c..%5cetc/passwd", "X-HTTP-Method-Override", false},
		{"GET /v/{version}/things/{id}", "/api/", "/v/%252e%252e/things/1", "X_Original_URL", false},
		{"GET /v/{version}/things/{id}", "/api", "/v/%2e%2e/things/..", "X-Rewrite-URL", true},
		{"POST /integration/api/pools/{pool}/push", "/base/", "/integration/api/pools/..;x/push", "X_Forwarded_For", false},
		{"GET /files/{path...}", "/a/b", "/files/%ef%bc%8e%ef%bc%8e/x", "True-Client-IP", false},
		{"GET /files/", "/a", "/files/x/../../..", "X-Client-IP", false},
		{"GET /files/{$}", "", "/files/", "Authorization", false},
		{"GET /x/{a}/{b...}", "/p", "/x/%2E%2E/%2e%2E%2f..", "X-Gatehouse-Team", false},
		{"GET /x/{a}/{b...}", "/p", `/x/a/..\..\..\`, "Cookie", false},
		{"GET /files/{path...}", "", "/files/a%252f..%252f..", "x-forwarded-prefix", false},
	} {
		f.Add(s.match, s.prefix, s.target, s.header, s.used)
	}
	cat := fuzzCatalog(f)
	tr := &recordingTransport{}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, match, prefix, target, header string, used bool) {
		p, errs := parseMatch(match, DefaultReserved)
		if errs != nil {
			return
		}
		perm := "read fuzz"
		if used {
			for _, n := range p.names {
				perm += "/{" + n + "}"
			}
		}
		probs := &problems{file: "fuzz"}
		tab := build([]spec{{match: match, scope: "integration.data-pools", permission: perm, upstream: "http://upstream.test" + prefix,
			index: 1, lines: map[string]int{}, skip: map[string]bool{}}}, cat, DefaultReserved, probs)
		if probs.err() != nil || len(tab.routes) != 1 {
			return
		}
		rt := tab.routes[0]
		rt.proxy = newProxy(rt, tr, log, false)

		if !isToken(header) || strings.ContainsAny(target, " \r\n") {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
			p.method + " " + target + " HTTP/1.1\r\nHost: acme.example.com\r\n" + header + ": DELETE\r\n\r\n")))
		if err != nil {
			return
		}
		tr.mu.Lock()
		tr.last = nil
		tr.mu.Unlock()
		rec := httptest.NewRecorder()
		tab.Handler(allow{}).ServeHTTP(rec, req)
		tr.mu.Lock()
		out := tr.last
		tr.mu.Unlock()
		if out == nil {
			return // refused, or not the route's
		}

		want := singleJoiningSlash(rt.upstream.Path, literalPrefix(p))
		for _, got := range resolutions(out.URL.EscapedPath()) {
			if !under(got, want) {
				t.Fatalf("%s %s on %q (upstream prefix %q) reached the upstream as %q, which resolves to %q, outside %q",
					p.method, target, match, prefix, out.URL.EscapedPath(), got, want)
			}
		}
		for k, vs := range out.Header {
			hk := headerKey(k)
			caller := len(vs) == 1 && vs[0] == "DELETE" // the gateway's own values are never that
			if caller && (hk == "authorization" || hk == "cookie" || hk == "forwarded" || isGatehouseHeader(hk) || isOverride(hk)) {
				t.Fatalf("the upstream received the caller's %s", k)
			}
		}
	})
}

// singleJoiningSlash joins an upstream's path prefix and a request path
// as httputil.ProxyRequest.SetURL does.
func singleJoiningSlash(a, b string) string {
	aslash, bslash := strings.HasSuffix(a, "/"), strings.HasPrefix(b, "/")
	switch {
	case aslash && bslash:
		return a + b[1:]
	case !aslash && !bslash:
		return a + "/" + b
	}
	return a + b
}

// FuzzLoadRoutes loads any route file: Load never panics, and a file it
// accepts has no route, decision-only or not, that matches a path of
// Gatehouse's own, whatever the method.
func FuzzLoadRoutes(f *testing.F) {
	for _, s := range []string{
		"routes: []\n",
		"routes:\n  - match: \"POST /integration/api/pools/{pool}/push\"\n    scope: integration.data-pools:data_push\n    permission: \"push data-pools/{pool}\"\n    upstream: http://127.0.0.1:9001\n",
		"routes:\n  - match: \"POST /{service}/{rest...}\"\n    scope: integration.data-pools\n    permission: \"push data-pools\"\n    upstream: http://127.0.0.1:9001\n",
		"routes:\n  - match: \"GET /\"\n    scope: integration.data-pools\n    permission: \"read x\"\n    upstream: http://127.0.0.1:9001\n",
		"routes:\n  - match: \"GET /{$}\"\n    scope: integration.data-pools\n    permission: \"read x\"\n    upstream: http://127.0.0.1:9001/base/\n    timeout: 1s\n    body_timeout: 2s\n    max_duration: 1h\n",
		"routes:\n  - match: GET /oauth%32/token\n    scope: integration.data-pools\n    permission: read x\n    upstream: http://h\n",
		"routes:\n  - match: GET /files/{p...}\n    scope: integration.data-pools\n    permission: read files/{p}\n    upstream: http://h\n    pass_headers: [X-HTTP-Method-Override, X-Real-IP]\n",
		"routes:\n  - &r\n    match: GET /a/{x}\n    scope: integration.data-pools\n    permission: read a/{x}\n    upstream: http://h\n  - *r\n",
		"routes:\n  - match: GET /a/{x}\n    scope: integration.data-pools\n    permission: read a/{x}\n  - match: GET /api/x\n    scope: integration.data-pools\n    permission: read x\n",
	} {
		f.Add(s)
	}
	cat := fuzzCatalog(f)
	dir := f.TempDir()
	var probes []string
	for _, r := range DefaultReserved {
		probes = append(probes, "/"+r, "/"+r+"/", "/"+r+"/token", "/"+r+"/a/b/c")
	}
	f.Fuzz(func(t *testing.T, file string) {
		p := filepath.Join(dir, "routes.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		tab, err := Load(p, cat)
		if err != nil {
			return
		}
		every := tab.decider(nil).mux
		for _, rt := range tab.routes {
			for _, probe := range probes {
				req := httptest.NewRequest(rt.pattern.method, "http://acme.example.com"+probe, nil)
				if _, pat := every.Handler(req); pat != "" {
					t.Fatalf("route %q matches Gatehouse's own %s %s", rt.Match, rt.pattern.method, probe)
				}
			}
		}
	})
}
