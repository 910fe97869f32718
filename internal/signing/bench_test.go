package signing_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// benchPayload is the size of a typical access token's claims.
var benchPayload = []byte(`{"iss":"https://acme.example.com","sub":"6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f",` +
	`"aud":["6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f","acme.example.com"],"azp":"6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f",` +
	`"client_id":"6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f","scope":["audit.log:read","team.user-group-info:read"],` +
	`"iat":1893553445,"nbf":1893553445,"exp":1893554345,"jti":"0b7c0e8e-8d1f-4b8e-9d0a-2f4c8f5e6a7b"}`)

// BenchmarkRawES384Sign is the floor: SHA-384 and a P-384 signature of
// the same bytes, with nothing else.
func BenchmarkRawES384Sign(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h := sha512.Sum384(benchPayload)
		if _, _, err := ecdsa.Sign(rand.Reader, priv, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagerSign is a warm Sign: cache lookup, header, base64 and
// the signature.
func BenchmarkManagerSign(b *testing.B) {
	m := newManager(b, openSQLite(b), newClock())
	sign(b, m, "acme", "")
	ctx := b.Context()
	for b.Loop() {
		if _, err := m.Sign(ctx, "acme", "", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagerSignParallel is BenchmarkManagerSign from every CPU, to
// show the cache does not serialise signers.
func BenchmarkManagerSignParallel(b *testing.B) {
	m := newManager(b, openSQLite(b), newClock())
	sign(b, m, "acme", "")
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Sign(ctx, "acme", "", benchPayload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkJoseSign is the same token made with go-jose's Signer, the
// alternative to the hand-built compact form.
func BenchmarkJoseSign(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: priv, KeyID: "k"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		jws, err := sg.Sign(benchPayload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.CompactSerialize(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawES384Verify is the floor of verification.
func BenchmarkRawES384Verify(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h := sha512.Sum384(benchPayload)
	r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h := sha512.Sum384(benchPayload)
		if !ecdsa.Verify(&priv.PublicKey, h[:], r, s) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerify is a warm Verify: go-jose parsing, key lookup and the
// signature check.
func BenchmarkVerify(b *testing.B) {
	m := newManager(b, openSQLite(b), newClock())
	tok, err := m.Sign(b.Context(), "acme", "", benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		if _, _, err := m.Verify(ctx, "acme", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignIDToken is a warm SignIDToken of each algorithm a client
// may register for its ID tokens: RS256 (the default) costs the most.
func BenchmarkSignIDToken(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "ES384", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			m := newManager(b, openSQLite(b), newClock())
			ctx := b.Context()
			if _, err := m.SignIDToken(ctx, "acme", alg, benchPayload); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := m.SignIDToken(ctx, "acme", alg, benchPayload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
