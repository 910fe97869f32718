package resource_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/resource"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, ok := resource.FromContext(r.Context()); !ok {
		w.WriteHeader(http.StatusInternalServerError)
	}
})

// benchMiddleware is the middleware of a validator whose JWKS is fetched.
func benchMiddleware(b *testing.B, ti *testIssuer) http.Handler {
	v := ti.validator(b, nil, resource.Config{})
	h := v.Middleware(okHandler)
	serveToken(b, h, ti.sign("k1", with(ti.claims(time.Now()), "jti", "warm-up")))
	return h
}

func serveToken(b *testing.B, h http.Handler, raw string) {
	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// A new token each time: parse, verify the ES384 signature, check the
// claims, remember the token.
func BenchmarkMiddlewareCold(b *testing.B) {
	ti := newTestIssuer(b)
	h := benchMiddleware(b, ti)
	now := time.Now()
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = ti.sign("k1", with(ti.claims(now), "jti", strconv.Itoa(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		serveToken(b, h, tokens[i])
	}
}

// The same token each time: a hit in the verified-token cache.
func BenchmarkMiddlewareWarm(b *testing.B) {
	ti := newTestIssuer(b)
	h := benchMiddleware(b, ti)
	raw := ti.sign("k1", ti.claims(time.Now()))
	serveToken(b, h, raw)
	b.ReportAllocs()
	for b.Loop() {
		serveToken(b, h, raw)
	}
}
