package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/token"
)

var benchClaims = token.Claims{
	Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
	AuthorizedParty: clientID, Scopes: []string{"audit.log:read", "team.user-group-info:read"},
	IssuedAt: t0, NotBefore: t0, Expiry: t0.Add(900 * time.Second), JTI: zeroUUID,
}

// BenchmarkRawES384Sign is the floor Issue is measured against: SHA-384
// and a P-384 signature of a token-sized payload.
func BenchmarkRawES384Sign(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	payload := benchClaims.AppendJSON(nil, false)
	for b.Loop() {
		h := sha512.Sum384(payload)
		if _, _, err := ecdsa.Sign(rand.Reader, priv, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssue is a whole warm issuance: jti, claims, signature.
func BenchmarkIssue(b *testing.B) {
	m := newManager(b, time.Now)
	is := &token.Issuer{Signer: m, Gen: secret.Generator{}}
	req := request()
	if _, err := is.Issue(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		if _, err := is.Issue(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJSON is the hand-rolled claims encoding.
func BenchmarkAppendJSON(b *testing.B) {
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = benchClaims.AppendJSON(buf[:0], false)
	}
}

// BenchmarkEncodingJSON is the same claims through encoding/json, the
// alternative AppendJSON replaces.
func BenchmarkEncodingJSON(b *testing.B) {
	type claims struct {
		Iss      string   `json:"iss"`
		Sub      string   `json:"sub"`
		Aud      []string `json:"aud"`
		ClientID string   `json:"client_id"`
		Azp      string   `json:"azp"`
		Scope    []string `json:"scope"`
		Iat      int64    `json:"iat"`
		Nbf      int64    `json:"nbf"`
		Exp      int64    `json:"exp"`
		Jti      string   `json:"jti"`
	}
	c := benchClaims
	for b.Loop() {
		if _, err := json.Marshal(claims{c.Issuer, c.Subject, c.Audience, c.ClientID, c.AuthorizedParty,
			c.Scopes, c.IssuedAt.Unix(), c.NotBefore.Unix(), c.Expiry.Unix(), c.JTI}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is the claims checks of a resource server.
func BenchmarkValidate(b *testing.B) {
	payload := benchClaims.AppendJSON(nil, false)
	want := token.Expectation{Issuer: teamURL, Audience: teamHost}
	for b.Loop() {
		if _, err := token.Validate(payload, t0, want); err != nil {
			b.Fatal(err)
		}
	}
}
