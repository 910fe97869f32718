package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// cryptoCeiling is the raw ES384 rate of this machine: signatures and
// verifications per second, in-process, on GOMAXPROCS goroutines.
type cryptoCeiling struct {
	Goroutines    int     `json:"goroutines"`
	SignPerSec    float64 `json:"es384_signatures_per_sec"`
	VerifyPerSec  float64 `json:"es384_verifications_per_sec"`
	SigningInput  int     `json:"signing_input_bytes"`
	SecondsPerRun float64 `json:"seconds_each"`
}

// measureES384 signs, then verifies, an access token's signing input for
// d each, on as many goroutines as GOMAXPROCS.
func measureES384(ctx context.Context, d time.Duration) (cryptoCeiling, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return cryptoCeiling{}, err
	}
	in := sampleSigningInput()
	sig, err := signES384(priv, in)
	if err != nil {
		return cryptoCeiling{}, err
	}
	n := runtime.GOMAXPROCS(0)
	c := cryptoCeiling{Goroutines: n, SigningInput: len(in), SecondsPerRun: d.Seconds()}
	c.SignPerSec = rate(ctx, n, d, func() bool { _, err := signES384(priv, in); return err == nil })
	c.VerifyPerSec = rate(ctx, n, d, func() bool { return verifyES384(&priv.PublicKey, in, sig) })
	return c, ctx.Err()
}

// rate runs op on n goroutines for d and returns the successful ops per
// second.
func rate(ctx context.Context, n int, d time.Duration, op func() bool) float64 {
	var done atomic.Int64
	end := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var k int64
			for ctx.Err() == nil && time.Now().Before(end) {
				if op() {
					k++
				}
			}
			done.Add(k)
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// sampleSigningInput is the signing input of an access token like
// Gatehouse's (RFC 9068 claims of a client-credentials token).
func sampleSigningInput() []byte {
	const id = "6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f"
	now := time.Now().Unix()
	claims, _ := json.Marshal(refClaims{
		Issuer: "http://bench.bench.test", Subject: id, Audience: []string{id, "bench.bench.test"},
		AZP: id, ClientID: id, Scope: []string{"audit.log:read", "team.user-group-info:read"},
		IssuedAt: now, NotBefore: now, Expiry: now + 900, JTI: "0b7c0e8e-8d1f-4b8e-9d0a-2f4c8f5e6a7b",
	})
	enc := base64.RawURLEncoding
	in := enc.AppendEncode(nil, []byte(`{"alg":"ES384","kid":"`+id+`","typ":"at+jwt"}`))
	in = append(in, '.')
	return enc.AppendEncode(in, claims)
}
