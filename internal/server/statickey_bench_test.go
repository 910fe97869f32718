package server_test

// Static key validation per request (BENCHMARKS.md "Static keys"): a warm
// request through the whole server handler (middleware, team resolution)
// to a handler that writes nothing, bare or behind the access guard with a
// user API key, an AppKey, or (for comparison) a JWT access token:
//
//	go test -bench StaticKey -run '^$' ./internal/server/
//
// The difference between a guarded run and the bare one is what the
// guard costs: parsing the key, the cached key lookup, the HMAC-SHA-256
// check, the last-use note, the cached owner and grants, and the rule.
// TestStaticKeyWarmAndLastUse shows that the same path neither reads nor
// writes the store.

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// skBench is a server whose team routes are GET /bench/bare (no guard) and
// GET /bench/guarded (scope audit.log:read, read on audit-log), with the
// Authorization values that pass the guard.
type skBench struct {
	handler http.Handler
	auth    map[string]string // name: Authorization value
}

func newSKBench(b *testing.B) *skBench {
	b.Helper()
	h := servertest.Start(b, servertest.WithTeams("acme"), servertest.HandlerOnly(), servertest.WithWallClock())
	h.App(b, "acme", "etl")
	h.User(b, "acme", admin.NewUser{Email: "ada@example.com", Password: "correct horse battery"})
	c, sec := h.Client(b, "acme", client.NewClient{Name: "bench", Scopes: []string{scope.AuditLogRead}})
	for _, p := range []string{"app:etl", "user:ada@example.com", "client:" + c.ID} {
		h.Grant(b, "acme", p, "read", "audit-log")
	}
	_, appKey := h.StaticKey(b, "acme", statickey.KindApp, "etl")
	_, userKey := h.StaticKey(b, "acme", statickey.KindUser, "ada@example.com")
	// An access token, from the real token endpoint.
	tok := h.Token(b, "acme", c.ID, sec)
	srv := h.Server

	bare := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/bare", bare)
	mux.Handle("GET /bench/guarded", srv.GuardForTest().Require(scope.AuditLogRead, "read", access.Fixed("audit-log"), bare))
	srv.SetTeamHandler(mux)
	return &skBench{handler: srv.Handler(), auth: map[string]string{
		"user-api-key": "Bearer " + userKey,
		"appkey":       "AppKey " + appKey,
		"access-token": "Bearer " + tok,
	}}
}

// skWriter is a ResponseWriter that keeps only the status, reusing its
// header map.
type skWriter struct {
	h    http.Header
	code int
}

func (w *skWriter) Header() http.Header         { return w.h }
func (w *skWriter) WriteHeader(code int)        { w.code = code }
func (w *skWriter) Write(p []byte) (int, error) { return len(p), nil }

// serve runs one request and returns its status.
func (e *skBench) serve(w *skWriter, r *http.Request) int {
	clear(w.h)
	w.code = 0
	e.handler.ServeHTTP(w, r)
	return w.code
}

func (e *skBench) request(path, auth string) *http.Request {
	r := httptest.NewRequest("GET", "http://acme.gatehouse.test"+path, nil)
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("User-Agent", "etl-job/2.1")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func (e *skBench) cases() []struct{ name, path, auth string } {
	return []struct{ name, path, auth string }{
		{"bare", "/bench/bare", ""},
		{"user-api-key", "/bench/guarded", e.auth["user-api-key"]},
		{"appkey", "/bench/guarded", e.auth["appkey"]},
		{"access-token", "/bench/guarded", e.auth["access-token"]},
	}
}

func BenchmarkStaticKeyValidation(b *testing.B) {
	e := newSKBench(b)
	for _, tc := range e.cases() {
		b.Run(tc.name, func(b *testing.B) {
			r := e.request(tc.path, tc.auth)
			w := &skWriter{h: http.Header{}}
			if code := e.serve(w, r); code != http.StatusNoContent { // warm
				b.Fatalf("status %d", code)
			}
			b.ReportAllocs()
			for b.Loop() {
				if code := e.serve(w, r); code != http.StatusNoContent {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}

func BenchmarkStaticKeyValidationParallel(b *testing.B) {
	e := newSKBench(b)
	for _, tc := range e.cases() {
		b.Run(tc.name, func(b *testing.B) {
			if code := e.serve(&skWriter{h: http.Header{}}, e.request(tc.path, tc.auth)); code != http.StatusNoContent {
				b.Fatalf("status %d", code)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := e.request(tc.path, tc.auth)
				w := &skWriter{h: http.Header{}}
				for pb.Next() {
					if code := e.serve(w, r); code != http.StatusNoContent {
						b.Errorf("status %d", code)
						return
					}
				}
			})
		})
	}
}
