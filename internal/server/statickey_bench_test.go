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
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
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
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	adm := &admin.Service{Store: st, Password: skCheap}
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err = adm.CreateTeam(ctx, kernel.CLI, "acme")
	must(err)
	_, err = adm.CreateApp(ctx, kernel.CLI, "acme", "etl")
	must(err)
	_, err = adm.CreateUser(ctx, kernel.CLI, "acme", admin.NewUser{Email: "ada@example.com", Password: "correct horse battery"})
	must(err)
	mk, err := masterkey.New(bytes.Repeat([]byte{7}, masterkey.Size))
	must(err)
	svc, err := compose.New(compose.Options{Store: st, MasterKey: mk})
	must(err)
	clients := svc.Clients
	c, sec, err := clients.Create(ctx, kernel.CLI, "acme", client.NewClient{Name: "bench", GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic, Scopes: []string{scope.AuditLogRead}})
	must(err)
	for _, p := range []string{"app:etl", "user:ada@example.com", "client:" + c.ID} {
		_, err := adm.Grant(ctx, kernel.CLI, store.Permission{Team: "acme", Principal: p, Action: "read", Resource: "audit-log"})
		must(err)
	}
	keys := svc.StaticKeys
	_, appKey, err := keys.Create(ctx, kernel.CLI, "acme", statickey.NewKey{Kind: statickey.KindApp, Owner: "etl"})
	must(err)
	_, userKey, err := keys.Create(ctx, kernel.CLI, "acme", statickey.NewKey{Kind: statickey.KindUser, Owner: "ada@example.com"})
	must(err)

	cfg := config.Default()
	cfg.Domain, cfg.Scheme = "gatehouse.test", "http"
	srv, err := server.New(server.Options{Config: cfg, Store: st, MasterKey: mk})
	must(err)
	// An access token, from the real token endpoint.
	req := httptest.NewRequest("POST", "http://acme.gatehouse.test/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(sec.Reveal()))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	tok := mustField(b, rec, "access_token")

	bare := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/bare", bare)
	mux.Handle("GET /bench/guarded", srv.GuardForTest().Require(scope.AuditLogRead, "read", access.Fixed("audit-log"), bare))
	srv.SetTeamHandler(mux)
	return &skBench{handler: srv.Handler(), auth: map[string]string{
		"user-api-key": "Bearer " + userKey.Reveal(),
		"appkey":       "AppKey " + appKey.Reveal(),
		"access-token": "Bearer " + tok,
	}}
}

func mustField(b *testing.B, rec *httptest.ResponseRecorder, field string) string {
	b.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 200 {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
	s, _ := m[field].(string)
	return s
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
