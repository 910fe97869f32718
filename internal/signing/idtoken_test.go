package signing_test

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/signing"
)

// An ID token is signed with the team's key of the algorithm asked for
// (RS256 when none is), made on first need and published in the JWKS; its
// typ is JWT, so that it is never taken for an access token, and an access
// token is never taken for it.
func TestSignIDToken(t *testing.T) {
	for _, tc := range []struct{ alg, want, kty string }{
		{"", "RS256", "RSA"},
		{"RS256", "RS256", "RSA"},
		{"ES256", "ES256", "EC"},
		{"ES384", "ES384", "EC"},
		{"EdDSA", "EdDSA", "OKP"},
	} {
		name := tc.alg
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			m := newManager(t, openSQLite(t), newClock())
			payload := []byte(`{"iss":"https://acme.example.com","sub":"u","nonce":"n"}`)
			tok, err := m.SignIDToken(t.Context(), "acme", tc.alg, payload)
			if err != nil {
				t.Fatalf("SignIDToken: %v", err)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.EdDSA})
			if err != nil {
				t.Fatal(err)
			}
			h := jws.Signatures[0].Protected
			if h.Algorithm != tc.want || h.ExtraHeaders[jose.HeaderType] != "JWT" || h.KeyID == "" {
				t.Errorf("header alg %s typ %v kid %q, want %s, JWT and a kid", h.Algorithm, h.ExtraHeaders[jose.HeaderType], h.KeyID, tc.want)
			}
			set := jwks(t, m, "acme")
			if len(set.Keys) != 1 || set.Keys[0].KeyID != h.KeyID || set.Keys[0].Algorithm != tc.want || !set.Keys[0].IsPublic() {
				t.Fatalf("JWKS %+v, want the one public %s key %s", set.Keys, tc.want, h.KeyID)
			}
			got, err := jws.Verify(set)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("go-jose verification against the JWKS: %s, %v", got, err)
			}

			got, vh, err := m.VerifyIDToken(t.Context(), "acme", tok)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("VerifyIDToken: %s, %v", got, err)
			}
			if diff := cmp.Diff(signing.Header{Alg: tc.want, KeyID: h.KeyID, Type: "JWT"}, vh); diff != "" {
				t.Errorf("VerifyIDToken header (-want +got):\n%s", diff)
			}
			// Another team's keys do not verify it.
			if _, _, err := m.VerifyIDToken(t.Context(), "beta", tok); !errors.Is(err, signing.ErrUnknownKey) {
				t.Errorf("VerifyIDToken at another team: %v, want ErrUnknownKey", err)
			}
			// Never an access token.
			if _, _, err := m.Verify(t.Context(), "acme", tok); !errors.Is(err, signing.ErrInvalid) {
				t.Errorf("Verify (access token) of an ID token: %v, want ErrInvalid", err)
			}
			// One key signs both kinds of token of its algorithm.
			if tc.want == "RS256" {
				return
			}
			access := sign(t, m, "acme", tc.want)
			if kidOf(t, access) != h.KeyID {
				t.Errorf("the access token is signed by %s, want the ID token's key %s", kidOf(t, access), h.KeyID)
			}
			if _, _, err := m.VerifyIDToken(t.Context(), "acme", access); !errors.Is(err, signing.ErrType) {
				t.Errorf("VerifyIDToken of an access token: %v, want ErrType", err)
			}
		})
	}
}

// RS256 signs ID tokens only; an algorithm outside the four is refused.
func TestSignIDTokenAlgorithms(t *testing.T) {
	m := newManager(t, openSQLite(t), newClock())
	for _, alg := range []string{"HS256", "none", "rs256", "PS256", "RS512"} {
		if _, err := m.SignIDToken(t.Context(), "acme", alg, []byte("{}")); !errors.Is(err, signing.ErrUnsupportedAlg) {
			t.Errorf("SignIDToken(alg %q) error = %v, want ErrUnsupportedAlg", alg, err)
		}
	}
	if got := jwks(t, m, "acme"); len(got.Keys) != 0 {
		t.Errorf("refused algorithms made keys: %v", kids(got))
	}
}

// An RSA key sealed by one node opens and signs on another node with the
// same master key, and refuses to sign on a node with another master key.
func TestRS256KeyOnOtherNodes(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	a := newManager(t, s, c)
	tok, err := a.SignIDToken(t.Context(), "acme", "RS256", []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	kid := mustParseAny(t, tok)
	b := newManager(t, s, c)
	again, err := b.SignIDToken(t.Context(), "acme", "RS256", []byte(`{"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustParseAny(t, again); got != kid {
		t.Errorf("the second node signed with %s, want the first node's %s", got, kid)
	}
	if _, _, err := b.VerifyIDToken(t.Context(), "acme", tok); err != nil {
		t.Errorf("the second node does not verify the first node's ID token: %v", err)
	}
	other := newManager(t, s, c, func(o *signing.Options) { o.MasterKey = masterKey(t, 2) })
	if _, err := other.SignIDToken(t.Context(), "acme", "RS256", []byte("{}")); !errors.Is(err, signing.ErrKeyUnavailable) {
		t.Errorf("a node with another master key signed: %v, want ErrKeyUnavailable", err)
	}
}

// mustParseAny returns the kid of tok, an RS256 JWS.
func mustParseAny(t *testing.T, tok string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}

// Keys of an algorithm that the team's clients sign ID tokens with
// (Options.InUse) are rotated with a successor published ahead; keys of an
// algorithm nobody uses any more retire when due.
func TestRotateDueIDTokenAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inUse  []string
		rotate bool
	}{
		{"in use", []string{"RS256"}, true},
		{"not in use", nil, false},
		{"another in use", []string{"EdDSA"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			asked := 0
			m := newManager(t, openSQLite(t), c, func(o *signing.Options) {
				o.Rotation, o.PublishAhead = 48*time.Hour, time.Hour
				o.InUse = func(_ context.Context, team string) ([]string, error) {
					asked++
					if team != "acme" {
						t.Errorf("InUse(%s), want acme", team)
					}
					return tc.inUse, nil
				}
			})
			tok, err := m.SignIDToken(t.Context(), "acme", "RS256", []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			first := headerRS(t, tok)
			sign(t, m, "acme", "") // the team's own ES384 key
			c.Set(t0.Add(47 * time.Hour))
			if err := m.RotateDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			if asked != 1 {
				t.Errorf("InUse asked %d times in a round, want once", asked)
			}
			keys, err := m.Keys(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			var rsa []signing.KeyInfo
			for _, k := range keys {
				if k.Alg == "RS256" {
					rsa = append(rsa, k)
				}
			}
			sort.Slice(rsa, func(i, j int) bool { return rsa[i].ActivateAt.Before(rsa[j].ActivateAt) })
			due := t0.Add(48 * time.Hour)
			if !tc.rotate {
				if len(rsa) != 1 || rsa[0].ID != first || rsa[0].RetiredAt == nil || !rsa[0].RetiredAt.Equal(t0.Add(47*time.Hour)) {
					t.Fatalf("RS256 keys %+v, want %s retired now", rsa, first)
				}
				return
			}
			if len(rsa) != 2 || rsa[0].ID != first || rsa[0].RetiredAt == nil || !rsa[0].RetiredAt.Equal(due) || !rsa[1].ActivateAt.Equal(due) {
				t.Fatalf("RS256 keys %+v, want %s retiring at %v and a successor signing from then", rsa, first, due)
			}
			// Published ahead: in the JWKS now, signing at its time.
			if !contains(kids(jwks(t, m, "acme")), rsa[1].ID) {
				t.Error("the successor is not published ahead")
			}
			c.Set(due)
			tok, err = m.SignIDToken(t.Context(), "acme", "RS256", []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if got := headerRS(t, tok); got != rsa[1].ID {
				t.Errorf("at the rotation age the ID token is signed by %s, want the successor %s", got, rsa[1].ID)
			}
		})
	}
}

func headerRS(t *testing.T, tok string) string { t.Helper(); return mustParseAny(t, tok) }
