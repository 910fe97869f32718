package oidc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// FuzzCheckHint: an id_token_hint passes only if it is, byte for byte, an
// ID token this team issued; anything else is ErrBadHint, never a panic or
// another error.
func FuzzCheckHint(f *testing.F) {
	c := testclock.New(t0)
	m := manager(f, c)
	is := &oidc.Issuer{Signer: m, Now: c.Now}
	issued := map[string]bool{}
	for _, alg := range []string{"RS256", "ES256", "ES384", "EdDSA"} {
		tok, err := is.Issue(f.Context(), oidc.Request{Team: "acme", IssuerURL: issuer, ClientID: "rp", User: ann,
			Scopes: []string{"openid"}, Alg: alg, TTL: time.Minute})
		if err != nil {
			f.Fatal(err)
		}
		issued[tok] = true
		f.Add(tok)
		f.Add(tok + " ")
		f.Add(tok[:len(tok)-2])
	}
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := oidc.CheckHint(t.Context(), m, "acme", issuer, raw)
		switch {
		case err == nil:
			if !issued[raw] {
				t.Fatalf("a hint that was never issued passed: %q", raw)
			}
			if h.Subject != ann.ID || !h.For("rp") {
				t.Fatalf("hint %+v of an issued token", h)
			}
		case !errors.Is(err, oidc.ErrBadHint):
			t.Fatalf("CheckHint(%q) = %v, want ErrBadHint", raw, err)
		}
	})
}
