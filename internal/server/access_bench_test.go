package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/token"
)

// The access rule per request, against its ceilings, in one run:
//
//	go test -run '^$' -bench 'Access|RawES384Verify' ./internal/server/
//
// BenchmarkAccessBare is the floor: the server's middleware and team
// resolution in front of a handler that writes 204. BenchmarkAccessWarm
// puts the guard in front of the same handler and presents one token
// again and again (the verified-token cache skips the signature);
// BenchmarkAccessCold presents a new token every time (one ES384
// verification each), to compare with BenchmarkRawES384Verify.

const benchResource = "data-pools/42"

func accessBenchHandler(b *testing.B) (*oauthEnv, http.Handler) {
	e := newOAuthEnv(b)
	mux := http.NewServeMux()
	noContent := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	mux.HandleFunc("/bare", noContent)
	mux.Handle("/guarded", e.srv.Guard().Require("integration.data-pools:data_push", "push", access.Fixed(benchResource), noContent))
	e.srv.SetTeamHandler(mux)
	return e, e.srv.Handler()
}

func guardedRequest(path, token string) *http.Request {
	req := httptest.NewRequest("GET", "http://acme.gatehouse.test"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func serve204(b *testing.B, h http.Handler, req *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func BenchmarkAccessBare(b *testing.B) {
	_, h := accessBenchHandler(b)
	req := guardedRequest("/bare", "")
	serve204(b, h, req)
	b.ReportAllocs()
	for b.Loop() {
		serve204(b, h, req)
	}
}

func BenchmarkAccessWarm(b *testing.B) {
	e, h := accessBenchHandler(b)
	tok, c := e.accessToken(b, "acme", "integration.data-pools:data_push")
	e.grant(b, "acme", "client:"+c.ID, "push", "data-pools/*")
	req := guardedRequest("/guarded", tok)
	serve204(b, h, req)
	b.ReportAllocs()
	for b.Loop() {
		serve204(b, h, req)
	}
}

func BenchmarkAccessCold(b *testing.B) {
	e, h := accessBenchHandler(b)
	c, sec := e.newClient(b, "acme", client.AuthSecretBasic, "integration.data-pools:data_push")
	e.grant(b, "acme", "client:"+c.ID, "push", "data-pools/*")
	// One token per iteration, all of one client, issued before the clock
	// starts: each costs the guard one signature verification.
	tokens := make([]string, b.N+1)
	for i := range tokens {
		status, _, body := e.post(b, "acme", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}},
			map[string]string{"Authorization": basic(c.ID, sec)})
		if status != 200 {
			b.Fatalf("token: %d %v", status, body)
		}
		tokens[i] = body["access_token"].(string)
	}
	serve204(b, h, guardedRequest("/guarded", tokens[b.N]))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve204(b, h, guardedRequest("/guarded", tokens[i]))
	}
}

func BenchmarkRawES384Verify(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	// A signing input the size of a Gatehouse access token's.
	input := []byte(strings.Repeat("eyJhbGciOiJFUzM4NCJ9", 30))
	digest := sha512.Sum384(input)
	sig, _ := ecdsa.SignASN1(rand.Reader, k, digest[:])
	b.ReportAllocs()
	for b.Loop() {
		d := sha512.Sum384(input)
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
			b.Fatal("verify")
		}
	}
}

// BenchmarkAccessWarmRevoked is BenchmarkAccessWarm before and after
// 10,000 other tokens of the team are revoked through the server's
// denylist: an unrelated token's check must cost the same (within noise),
// since revocations are added to the cached set in place, never reloaded.
// So that both sides run on a heap of the same size (the garbage
// collector's cost grows with it), "before" runs with 10,000 revocations
// held for another team.
//
//	go test -run '^$' -bench AccessWarmRevoked -count 5 ./internal/server/
func BenchmarkAccessWarmRevoked(b *testing.B) {
	e, h := accessBenchHandler(b)
	tok, c := e.accessToken(b, "acme", "integration.data-pools:data_push")
	e.grant(b, "acme", "client:"+c.ID, "push", "data-pools/*")
	req := guardedRequest("/guarded", tok)
	deny := e.srv.Services().Denylist
	revoke := func(team string) {
		// The team's set is loaded first, so that each revocation is
		// added to it in place, as on a serving node.
		if _, err := deny.Refused(context.Background(), team, token.Claims{JTI: "x", Subject: "c", ClientID: "c"}); err != nil {
			b.Fatal(err)
		}
		exp := time.Now().Add(time.Hour)
		for i := range 10_000 {
			if err := deny.Revoke(context.Background(), team, fmt.Sprintf("revoked-%05d", i), exp); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(name string) {
		serve204(b, h, req)
		runtime.GC()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve204(b, h, req)
			}
		})
	}
	revoke("beta")
	run("before")
	revoke("acme")
	run("after-10000-revocations")
}
