package oidc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const issuer = "https://acme.example.com"

var ann = store.User{Team: "acme", ID: "7a2c1e1e-0000-4000-8000-000000000001", Email: "ann@example.com", Name: "Ann Example"}

// manager is a signing manager on a fresh SQLite store with teams acme and
// beta.
func manager(t testing.TB, c *testclock.Clock) *signing.Manager {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "g.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, team := range []string{"acme", "beta"} {
		if err := db.CreateTeam(context.Background(), store.Team{Name: team, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	mk, err := masterkey.New(bytes.Repeat([]byte{3}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewManager(signing.Options{Store: db, MasterKey: mk, Now: c.Now})
}

// claimsOf verifies tok against the team's JWKS with go-jose, as a relying
// party would, and returns its header and claims.
func claimsOf(t *testing.T, m *signing.Manager, tok string) (jose.Header, map[string]any) {
	t.Helper()
	raw, err := m.JWKS(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(set)
	if err != nil {
		t.Fatalf("verify against the JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected, claims
}

// The claims of an ID token follow the request's scopes; nonce and
// auth_time are there when known; the header names the client's algorithm
// and typ JWT.
func TestIssue(t *testing.T) {
	c := testclock.New(t0.Add(700 * time.Millisecond))
	m := manager(t, c)
	is := &oidc.Issuer{Signer: m, Now: c.Now}
	base := oidc.Request{Team: "acme", IssuerURL: issuer, ClientID: "rp", User: ann, AccessToken: "eyJ.a.b", TTL: 15 * time.Minute}
	authTime := t0.Add(-time.Hour + 300*time.Millisecond)
	for _, tc := range []struct {
		name   string
		change func(*oidc.Request)
		alg    string
		want   map[string]any
	}{
		{"openid only, default alg", func(r *oidc.Request) { r.Scopes = []string{"openid"} }, "RS256", map[string]any{}},
		{"email", func(r *oidc.Request) { r.Scopes, r.Alg = []string{"openid", "email"}, "ES256" }, "ES256",
			map[string]any{"email": "ann@example.com", "email_verified": false}},
		{"profile", func(r *oidc.Request) { r.Scopes, r.Alg = []string{"openid", "profile"}, "EdDSA" }, "EdDSA",
			map[string]any{"name": "Ann Example"}},
		{"all, nonce and auth_time", func(r *oidc.Request) {
			r.Scopes, r.Alg, r.Nonce, r.AuthTime = []string{"openid", "profile", "email", "audit.log:read"}, "ES384", "n-0S6_WzA2Mj", authTime
		}, "ES384", map[string]any{"email": "ann@example.com", "email_verified": false, "name": "Ann Example",
			"nonce": "n-0S6_WzA2Mj", "auth_time": float64(authTime.Unix())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			tc.change(&req)
			tok, err := is.Issue(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			h, claims := claimsOf(t, m, tok)
			if h.Algorithm != tc.alg || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header alg %s typ %v, want %s and JWT", h.Algorithm, h.ExtraHeaders[jose.HeaderType], tc.alg)
			}
			atHash, err := oidc.AtHash(tc.alg, "eyJ.a.b")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"iss": issuer, "sub": ann.ID, "aud": "rp", "azp": "rp", "iat": float64(t0.Unix()),
				"exp": float64(t0.Add(15 * time.Minute).Unix()), "at_hash": atHash}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []oidc.Request{{}, {Team: "acme", IssuerURL: issuer, ClientID: "rp", User: ann}} {
		if _, err := is.Issue(t.Context(), bad); !errors.Is(err, oidc.ErrRequest) {
			t.Errorf("Issue(%+v) = %v, want ErrRequest", bad, err)
		}
	}
}

// at_hash is the left half of the hash of the algorithm's JWS hash
// function, base64url-encoded (OpenID Connect Core 1.0 section 3.1.3.6).
func TestAtHash(t *testing.T) {
	const tok = "jHkWEdUXMU1BwAsC4vtUsZwnN3aBcXsz7Ve3V2HhNZo"
	half := func(sum []byte) string { return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]) }
	s256, s384, s512 := sha256.Sum256([]byte(tok)), sha512.Sum384([]byte(tok)), sha512.Sum512([]byte(tok))
	for _, tc := range []struct{ alg, want string }{
		{"", half(s256[:])}, {"RS256", half(s256[:])}, {"ES256", half(s256[:])},
		{"ES384", half(s384[:])}, {"EdDSA", half(s512[:])},
	} {
		got, err := oidc.AtHash(tc.alg, tok)
		if err != nil || got != tc.want {
			t.Errorf("AtHash(%q) = %q, %v; want %q", tc.alg, got, err, tc.want)
		}
	}
	// Computed apart with Python's hashlib for RS256: base64url of the
	// first 16 bytes of SHA-256.
	if got, _ := oidc.AtHash("RS256", tok); got != "fJOYnwl9QGgPKSCFubp3IQ" {
		t.Errorf("AtHash(RS256) = %q, want fJOYnwl9QGgPKSCFubp3IQ", got)
	}
	if _, err := oidc.AtHash("HS256", tok); !errors.Is(err, signing.ErrUnsupportedAlg) {
		t.Errorf("AtHash(HS256) = %v, want ErrUnsupportedAlg", err)
	}
}

func TestClaimsOf(t *testing.T) {
	f := false
	for _, tc := range []struct {
		scopes []string
		want   oidc.UserClaims
	}{
		{[]string{"openid"}, oidc.UserClaims{Subject: ann.ID}},
		{[]string{"openid", "email"}, oidc.UserClaims{Subject: ann.ID, Email: ann.Email, EmailVerified: &f}},
		{[]string{"openid", "profile"}, oidc.UserClaims{Subject: ann.ID, Name: ann.Name}},
		{[]string{"profile", "email"}, oidc.UserClaims{Subject: ann.ID, Email: ann.Email, EmailVerified: &f, Name: ann.Name}},
	} {
		if diff := cmp.Diff(tc.want, oidc.ClaimsOf(ann, tc.scopes)); diff != "" {
			t.Errorf("ClaimsOf(%v) (-want +got):\n%s", tc.scopes, diff)
		}
	}
}

// A hint is an ID token of this team, expired or not; anything else is
// ErrBadHint.
func TestCheckHint(t *testing.T) {
	c := testclock.New(t0)
	m := manager(t, c)
	is := &oidc.Issuer{Signer: m, Now: c.Now}
	good, err := is.Issue(t.Context(), oidc.Request{Team: "acme", IssuerURL: issuer, ClientID: "rp", User: ann, Scopes: []string{"openid"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, err := is.Issue(t.Context(), oidc.Request{Team: "acme", IssuerURL: "https://beta.example.com", ClientID: "rp", User: ann, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	otherTeam, err := is.Issue(t.Context(), oidc.Request{Team: "beta", IssuerURL: issuer, ClientID: "rp", User: ann, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	access, err := m.Sign(t.Context(), "acme", "", []byte(`{"iss":"`+issuer+`","sub":"x","aud":"rp"}`))
	if err != nil {
		t.Fatal(err)
	}
	noSub, err := m.SignIDToken(t.Context(), "acme", "", []byte(`{"iss":"`+issuer+`","aud":"rp"}`))
	if err != nil {
		t.Fatal(err)
	}
	arrayAud, err := m.SignIDToken(t.Context(), "acme", "ES256", []byte(`{"iss":"`+issuer+`","sub":"s","aud":["a","rp"]}`))
	if err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(48 * time.Hour)) // long expired: still a good hint
	for _, tc := range []struct {
		name, raw string
		want      oidc.Hint
		err       error
	}{
		{"expired ID token", good, oidc.Hint{Subject: ann.ID, Audience: []string{"rp"}}, nil},
		{"aud array", arrayAud, oidc.Hint{Subject: "s", Audience: []string{"a", "rp"}}, nil},
		{"another issuer", otherIssuer, oidc.Hint{}, oidc.ErrBadHint},
		{"another team's key", otherTeam, oidc.Hint{}, oidc.ErrBadHint},
		{"an access token", access, oidc.Hint{}, oidc.ErrBadHint},
		{"no subject", noSub, oidc.Hint{}, oidc.ErrBadHint},
		{"garbage", "not.a.token", oidc.Hint{}, oidc.ErrBadHint},
		{"empty", "", oidc.Hint{}, oidc.ErrBadHint},
		{"too long", string(bytes.Repeat([]byte("a"), oidc.MaxHintLen+1)), oidc.Hint{}, oidc.ErrBadHint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := oidc.CheckHint(t.Context(), m, "acme", issuer, tc.raw)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("CheckHint = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hint (-want +got):\n%s", diff)
			}
		})
	}
	if h, _ := oidc.CheckHint(t.Context(), m, "acme", issuer, good); !h.For("rp") || h.For("other") {
		t.Error("Hint.For is wrong")
	}
}
