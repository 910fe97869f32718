package resource_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/resource"
)

// The validator takes any string a caller sends as a bearer token. It
// accepts only what the issuer signed, spelt as the issuer spelt it (the
// signature aside, whose spelling ECDSA does not fix), and refuses the
// rest with ErrNoToken or an error wrapping ErrInvalidToken: the issuer's
// JWKS answers, so never ErrKeysUnavailable.
func FuzzValidatorValidate(f *testing.F) {
	clk := newClock()
	ti := newTestIssuer(f)
	ti.addKey("k2", jose.EdDSA, true)
	v := ti.validator(f, clk, resource.Config{})
	good := []string{ti.sign("k1", ti.claims(clk.Now())), ti.sign("k2", ti.claims(clk.Now()))}
	for _, tok := range good {
		f.Add(tok)
		f.Add(tok[:30] + "\n" + tok[30:])
		f.Add(tok + "=")
	}
	f.Add("")
	f.Add(ti.signAs("k1", "nope", ti.claims(clk.Now())))
	f.Add(ti.sign("k1", ti.claims(clk.Now()), withType("JWT")))
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Validate(t.Context(), raw)
		if err != nil {
			if !errors.Is(err, resource.ErrInvalidToken) && !errors.Is(err, resource.ErrNoToken) {
				t.Fatalf("Validate(%q): %v, want ErrInvalidToken or ErrNoToken", raw, err)
			}
			return
		}
		for _, tok := range good {
			if signingInput(tok) == signingInput(raw) {
				if p.Token != raw || p.Subject == "" || p.TokenID == "" {
					t.Errorf("Validate(%q) = %+v", raw, p)
				}
				return
			}
		}
		t.Errorf("Validate(%q) accepted a token the issuer never signed: %+v", raw, p)
	})
}

func signingInput(tok string) string {
	if i := strings.LastIndexByte(tok, '.'); i >= 0 {
		return tok[:i]
	}
	return tok
}

// A JWKS comes from the network. What the parser keeps are public keys
// (never a private member someone published) of the allowed kinds (EC
// P-256 or P-384, Ed25519), each fit only for the algorithm of its kind
// and of its JWK "alg", by a non-empty kid.
func FuzzParseJWKS(f *testing.F) {
	ti := newTestIssuer(f)
	ti.addKey("ed", jose.EdDSA, true)
	ti.addKey("p256", jose.ES256, true)
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: ti.published})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(set))
	for _, s := range []string{`{}`, `{"keys":null}`, `{"keys":[]}`, `{"keys":[{}]}`, `[]`,
		`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","use":"enc","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","alg":"ES384","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		keys, err := resource.ParseJWKS([]byte(body))
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" {
				t.Errorf("a key without kid: %+v", k)
			}
			var fits []string
			for _, alg := range []string{"ES256", "ES384", "EdDSA", "RS256", "HS256", "none", ""} {
				if k.Fits(alg) {
					fits = append(fits, alg)
				}
			}
			var want string
			switch pub := k.Key.(type) {
			case *ecdsa.PublicKey:
				switch pub.Curve {
				case elliptic.P256():
					want = "ES256"
				case elliptic.P384():
					want = "ES384"
				default:
					t.Errorf("kid %q: a key on curve %s", kid, pub.Curve.Params().Name)
				}
			case ed25519.PublicKey:
				want = "EdDSA"
			default:
				t.Errorf("kid %q: a key of type %T", kid, k.Key)
			}
			if k.Alg != "" && k.Alg != want {
				want = "" // a JWK alg that does not fit the key: fit for nothing
			}
			if len(fits) > 1 || len(fits) == 1 && fits[0] != want || len(fits) == 0 && want != "" {
				t.Errorf("kid %q (%T, alg %q) fits %v, want only %q", kid, k.Key, k.Alg, fits, want)
			}
		}
	})
}
