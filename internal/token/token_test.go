package token_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	clientID = "6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f"
	teamURL  = "https://acme.example.com"
	teamHost = "acme.example.com"
)

// zeros is a random source of zero bytes: predictable UUIDs.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// zeroUUID is the version 4 UUID made of zero bytes.
const zeroUUID = "00000000-0000-4000-8000-000000000000"

// recorder is a Signer that keeps what it was asked to sign.
type recorder struct {
	team, alg string
	payload   []byte
	err       error
}

func (r *recorder) Sign(_ context.Context, team, alg string, payload []byte) (string, error) {
	r.team, r.alg, r.payload = team, alg, bytes.Clone(payload)
	return "header.payload.signature", r.err
}

func newManager(t testing.TB, now func() time.Time) *signing.Manager {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateTeam(context.Background(), store.Team{Name: "acme", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	mk, err := masterkey.New(bytes.Repeat([]byte{7}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewManager(signing.Options{Store: db, MasterKey: mk, Now: now})
}

func request() token.Request {
	return token.Request{
		Team: "acme", IssuerURL: teamURL, TeamHost: teamHost, ClientID: clientID, Subject: clientID,
		Scopes: []string{"audit.log:read", "team.user-group-info:read"}, TTL: 900 * time.Second,
	}
}

// The claims are exactly the contract's, in both scope forms, and the
// token verifies with go-jose against the team's JWKS.
func TestIssue(t *testing.T) {
	now := t0.Add(700 * time.Millisecond) // iat and friends are whole seconds
	m := newManager(t, func() time.Time { return now })
	is := &token.Issuer{Signer: m, Gen: secret.Generator{Rand: zeros{}}, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name          string
		scopeAsString bool
		scope         any
	}{
		{"scope array", false, []any{"audit.log:read", "team.user-group-info:read"}},
		{"scope string", true, "audit.log:read team.user-group-info:read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request()
			req.ScopeAsString = tc.scopeAsString
			tok, err := is.Issue(t.Context(), req)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			raw, err := m.JWKS(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(raw, &set); err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(tok.Raw.Reveal(), []jose.SignatureAlgorithm{jose.ES384})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			payload, err := jws.Verify(set)
			if err != nil {
				t.Fatalf("go-jose verification against the JWKS: %v", err)
			}
			h := jws.Signatures[0].Protected
			if h.Algorithm != "ES384" || h.ExtraHeaders[jose.HeaderType] != "at+jwt" || len(set.Key(h.KeyID)) != 1 {
				t.Errorf("header = alg %s, typ %v, kid %s; want ES384, at+jwt and a kid of the JWKS", h.Algorithm, h.ExtraHeaders[jose.HeaderType], h.KeyID)
			}

			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatalf("claims %s: %v", payload, err)
			}
			want := map[string]any{
				"iss":       teamURL,
				"sub":       clientID,
				"aud":       []any{clientID, teamHost},
				"azp":       clientID,
				"client_id": clientID,
				"scope":     tc.scope,
				"iat":       float64(t0.Unix()),
				"nbf":       float64(t0.Unix()),
				"exp":       float64(t0.Unix() + 900),
				"jti":       zeroUUID,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if tok.JTI != zeroUUID || !tok.ExpiresAt.Equal(t0.Add(900*time.Second)) {
				t.Errorf("Token JTI, ExpiresAt = %s, %v; want %s, %v", tok.JTI, tok.ExpiresAt, zeroUUID, t0.Add(900*time.Second))
			}

			// What Validate reads back is what Issue reports.
			claims, err := token.Validate(payload, now, token.Expectation{Issuer: teamURL, Audience: teamHost})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if diff := cmp.Diff(tok.Claims, claims); diff != "" {
				t.Errorf("Validate (-issued +validated):\n%s", diff)
			}
			// And signing.Verify agrees.
			if p, _, err := m.Verify(t.Context(), "acme", tok.Raw.Reveal()); err != nil || !bytes.Equal(p, payload) {
				t.Errorf("signing.Verify = %s, %v", p, err)
			}
		})
	}
}

func TestIssueUserToken(t *testing.T) {
	r := &recorder{}
	is := &token.Issuer{Signer: r, Gen: secret.Generator{Rand: zeros{}}, Now: func() time.Time { return t0 }}
	req := request()
	req.Subject = "0d6a3c1e-1111-4222-8333-444455556666"
	req.Alg = "EdDSA"
	req.Scopes = nil
	tok, err := is.Issue(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if r.team != "acme" || r.alg != "EdDSA" {
		t.Errorf("signed for team %q alg %q, want acme EdDSA", r.team, r.alg)
	}
	if tok.Raw.Reveal() != "header.payload.signature" {
		t.Errorf("Raw = %q, want the signer's output", tok.Raw.Reveal())
	}
	var got map[string]any
	if err := json.Unmarshal(r.payload, &got); err != nil {
		t.Fatal(err)
	}
	if got["sub"] != req.Subject || got["client_id"] != clientID || got["azp"] != clientID {
		t.Errorf("sub, client_id, azp = %v, %v, %v", got["sub"], got["client_id"], got["azp"])
	}
	if diff := cmp.Diff([]any{}, got["scope"]); diff != "" {
		t.Errorf("scope with no scopes (-want +got):\n%s", diff)
	}
}

func TestIssueTTL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ttl    time.Duration
		maxTTL time.Duration
		want   time.Duration
	}{
		{"default", 0, 0, 900 * time.Second},
		{"client's", time.Hour, 0, time.Hour},
		{"capped", 48 * time.Hour, 24 * time.Hour, 24 * time.Hour},
		{"under the cap", time.Minute, 24 * time.Hour, time.Minute},
		{"fraction dropped", 90*time.Second + 500*time.Millisecond, 0, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			is := &token.Issuer{Signer: r, Now: func() time.Time { return t0 }, MaxTTL: tc.maxTTL}
			req := request()
			req.TTL = tc.ttl
			tok, err := is.Issue(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.ExpiresAt.Sub(t0); got != tc.want {
				t.Errorf("lifetime = %v, want %v", got, tc.want)
			}
			var c struct{ Iat, Exp int64 }
			if err := json.Unmarshal(r.payload, &c); err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(c.Exp-c.Iat) * time.Second; got != tc.want {
				t.Errorf("exp - iat = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	signErr := errors.New("no key")
	for _, tc := range []struct {
		name string
		edit func(*token.Request)
		err  error
		want error
	}{
		{"no team", func(r *token.Request) { r.Team = "" }, nil, token.ErrRequest},
		{"no issuer", func(r *token.Request) { r.IssuerURL = "" }, nil, token.ErrRequest},
		{"no team host", func(r *token.Request) { r.TeamHost = "" }, nil, token.ErrRequest},
		{"no client", func(r *token.Request) { r.ClientID = "" }, nil, token.ErrRequest},
		{"no subject", func(r *token.Request) { r.Subject = "" }, nil, token.ErrRequest},
		{"scope with a space", func(r *token.Request) { r.Scopes = []string{"a b"} }, nil, token.ErrRequest},
		{"empty scope", func(r *token.Request) { r.Scopes = []string{""} }, nil, token.ErrRequest},
		{"signer fails", func(*token.Request) {}, signErr, signErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := &token.Issuer{Signer: &recorder{err: tc.err}}
			req := request()
			tc.edit(&req)
			if _, err := is.Issue(t.Context(), req); !errors.Is(err, tc.want) {
				t.Errorf("Issue error = %v, want %v", err, tc.want)
			}
		})
	}
}

// Strings that need escaping still make valid JSON with the same values.
func TestAppendJSONEscapes(t *testing.T) {
	c := token.Claims{
		Issuer: `https://acme.example.com/"quoted"\back`, Subject: "ünï\u2028cøde\x00\x1f<&>",
		Audience: []string{"a\tb", "\xff"}, ClientID: "c", AuthorizedParty: "c",
		Scopes: []string{`x"y`}, IssuedAt: t0, NotBefore: t0, Expiry: t0.Add(time.Minute), JTI: "j",
	}
	for _, asString := range []bool{false, true} {
		out := c.AppendJSON([]byte("prefix"), asString)
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("AppendJSON lost the prefix: %s", out)
		}
		out = out[len("prefix"):]
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		got, err := token.Validate(out, t0, token.Expectation{Issuer: c.Issuer, Audience: "a\tb"})
		if err != nil {
			t.Fatalf("Validate(%s): %v", out, err)
		}
		want := c
		want.Audience = []string{"a\tb", "\ufffd"} // invalid UTF-8 becomes U+FFFD
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip, scope as string %v (-want +got):\n%s", asString, diff)
		}
	}
}

func TestValidate(t *testing.T) {
	iat := t0.Unix()
	base := map[string]any{
		"iss": teamURL, "sub": clientID, "aud": []any{clientID, teamHost}, "azp": clientID, "client_id": clientID,
		"scope": []any{"a", "b"}, "iat": iat, "nbf": iat, "exp": iat + 900, "jti": zeroUUID,
	}
	with := func(edits map[string]any) []byte {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edits {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := token.Expectation{Issuer: teamURL, Audience: teamHost, Leeway: 30 * time.Second}
	noLeeway := token.Expectation{Issuer: teamURL, Audience: teamHost}
	good := token.Claims{
		Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
		AuthorizedParty: clientID, Scopes: []string{"a", "b"}, IssuedAt: t0, NotBefore: t0,
		Expiry: t0.Add(900 * time.Second), JTI: zeroUUID,
	}
	exp := t0.Add(900 * time.Second)

	for _, tc := range []struct {
		name    string
		payload []byte
		now     time.Time
		want    token.Expectation
		err     error
		claims  *token.Claims // checked when err is nil; nil: good
	}{
		{"valid", with(nil), t0, want, nil, nil},
		{"valid at the last instant", with(nil), exp.Add(-time.Nanosecond), noLeeway, nil, nil},
		{"expired", with(nil), exp, noLeeway, token.ErrExpired, nil},
		{"expired, within leeway", with(nil), exp.Add(29 * time.Second), want, nil, nil},
		{"expired, beyond leeway", with(nil), exp.Add(30 * time.Second), want, token.ErrExpired, nil},
		{"leeway clamped to 60s", with(nil), exp.Add(61 * time.Second), token.Expectation{Issuer: teamURL, Audience: teamHost, Leeway: time.Hour}, token.ErrExpired, nil},
		{"leeway of 60s", with(nil), exp.Add(59 * time.Second), token.Expectation{Issuer: teamURL, Audience: teamHost, Leeway: time.Hour}, nil, nil},
		{"negative leeway is none", with(nil), exp, token.Expectation{Issuer: teamURL, Audience: teamHost, Leeway: -time.Hour}, token.ErrExpired, nil},
		{"not yet valid", with(map[string]any{"nbf": iat + 100}), t0, want, token.ErrNotYetValid, nil},
		{"nbf within leeway", with(map[string]any{"nbf": iat + 30}), t0, want, nil, &token.Claims{
			Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
			AuthorizedParty: clientID, Scopes: []string{"a", "b"}, IssuedAt: t0, NotBefore: t0.Add(30 * time.Second),
			Expiry: exp, JTI: zeroUUID}},
		{"nbf beyond leeway", with(map[string]any{"nbf": iat + 31}), t0, want, token.ErrNotYetValid, nil},
		{"issued in the future", with(map[string]any{"iat": iat + 100, "nbf": nil}), t0, want, token.ErrNotYetValid, nil},
		{"wrong issuer", with(map[string]any{"iss": "https://evil.example.com"}), t0, want, token.ErrWrongIssuer, nil},
		{"issuer differs by a slash", with(map[string]any{"iss": teamURL + "/"}), t0, want, token.ErrWrongIssuer, nil},
		{"wrong audience", with(map[string]any{"aud": []any{clientID, "beta.example.com"}}), t0, want, token.ErrWrongAudience, nil},
		{"audience as a string", with(map[string]any{"aud": teamHost}), t0, want, nil, &token.Claims{
			Issuer: teamURL, Subject: clientID, Audience: []string{teamHost}, ClientID: clientID,
			AuthorizedParty: clientID, Scopes: []string{"a", "b"}, IssuedAt: t0, NotBefore: t0, Expiry: exp, JTI: zeroUUID}},
		{"scope as a string", with(map[string]any{"scope": "a  b"}), t0, want, nil, nil},
		{"no scope", with(map[string]any{"scope": nil}), t0, want, nil, &token.Claims{
			Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
			AuthorizedParty: clientID, IssuedAt: t0, NotBefore: t0, Expiry: exp, JTI: zeroUUID}},
		{"no nbf", with(map[string]any{"nbf": nil}), t0, want, nil, &token.Claims{
			Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
			AuthorizedParty: clientID, Scopes: []string{"a", "b"}, IssuedAt: t0, Expiry: exp, JTI: zeroUUID}},
		{"fractional exp", with(map[string]any{"exp": float64(iat) + 0.5}), t0, want, nil, &token.Claims{
			Issuer: teamURL, Subject: clientID, Audience: []string{clientID, teamHost}, ClientID: clientID,
			AuthorizedParty: clientID, Scopes: []string{"a", "b"}, IssuedAt: t0, NotBefore: t0,
			Expiry: t0.Add(500 * time.Millisecond), JTI: zeroUUID}},
		{"missing iss", with(map[string]any{"iss": nil}), t0, want, token.ErrMalformed, nil},
		{"missing sub", with(map[string]any{"sub": nil}), t0, want, token.ErrMalformed, nil},
		{"missing aud", with(map[string]any{"aud": nil}), t0, want, token.ErrMalformed, nil},
		{"missing client_id", with(map[string]any{"client_id": nil}), t0, want, token.ErrMalformed, nil},
		{"missing iat", with(map[string]any{"iat": nil}), t0, want, token.ErrMalformed, nil},
		{"missing exp", with(map[string]any{"exp": nil}), t0, want, token.ErrMalformed, nil},
		{"missing jti", with(map[string]any{"jti": nil}), t0, want, token.ErrMalformed, nil},
		{"null aud", bytes.Replace(with(nil), []byte(`"aud":[`), []byte(`"aud":null,"x":[`), 1), t0, want, token.ErrMalformed, nil},
		{"empty aud", with(map[string]any{"aud": []any{}}), t0, want, token.ErrMalformed, nil},
		{"aud of numbers", with(map[string]any{"aud": []any{1, 2}}), t0, want, token.ErrMalformed, nil},
		{"scope of numbers", with(map[string]any{"scope": 7}), t0, want, token.ErrMalformed, nil},
		{"exp as a string", with(map[string]any{"exp": "soon"}), t0, want, token.ErrMalformed, nil},
		{"sub as a number", with(map[string]any{"sub": 42}), t0, want, token.ErrMalformed, nil},
		{"not JSON", []byte("nope"), t0, want, token.ErrMalformed, nil},
		{"an array", []byte("[]"), t0, want, token.ErrMalformed, nil},
		{"trailing data", append(with(nil), "{}"...), t0, want, token.ErrMalformed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := token.Validate(tc.payload, tc.now, tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Validate error = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if !errors.Is(err, token.ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			wantClaims := good
			if tc.claims != nil {
				wantClaims = *tc.claims
			}
			if diff := cmp.Diff(wantClaims, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// A token never prints.
func TestTokenRedacted(t *testing.T) {
	is := &token.Issuer{Signer: &recorder{}}
	tok, err := is.Issue(t.Context(), request())
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{tok.Raw.String(), string(j)} {
		if strings.Contains(s, "signature") {
			t.Errorf("the token shows: %s", s)
		}
	}
}
