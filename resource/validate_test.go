package resource_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/resource"
)

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     resource.Config
		wantErr []string // each must appear in the error
	}{
		{"minimal", resource.Config{Issuer: "https://acme.gatehouse.example"}, nil},
		{"dev issuer with port", resource.Config{Issuer: "http://acme.localhost:8080"}, nil},
		{"no issuer", resource.Config{}, []string{"Issuer is required"}},
		{"trailing slash", resource.Config{Issuer: "https://acme.gatehouse.example/"}, []string{"no trailing slash"}},
		{"not http", resource.Config{Issuer: "ftp://acme.gatehouse.example"}, []string{"not a team URL"}},
		{"relative", resource.Config{Issuer: "acme.gatehouse.example"}, []string{"not a team URL"}},
		{"every problem at once", resource.Config{Issuer: "https://a.example/", Leeway: 2 * time.Minute, JWKSURL: "/jwks", CheckURL: "x"},
			[]string{"Issuer", "Leeway", "JWKSURL", "CheckURL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := resource.New(tc.cfg)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%+v) = %v, want an error", tc.cfg, v)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	v, err := resource.New(resource.Config{Issuer: "http://acme.localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Audience() != "acme.localhost:8080" || v.Issuer() != "http://acme.localhost:8080" {
		t.Errorf("audience %q, issuer %q", v.Audience(), v.Issuer())
	}
}

func TestValidate(t *testing.T) {
	ti := newTestIssuer(t)
	ti.addKey("es256", jose.ES256, true)
	ti.addKey("ed", jose.EdDSA, true)
	ti.addKey("rogue", jose.ES384, false)
	ti.addKey("p256", jose.ES256, false)
	clk := newClock()
	now := clk.Now()
	v := ti.validator(t, clk, resource.Config{TokenCacheSize: -1})
	c := func() map[string]any { return ti.claims(now) }
	s := func(claims map[string]any, opts ...func(*jose.SignerOptions)) string {
		return ti.sign("k1", claims, opts...)
	}

	valid := s(c())
	dot := strings.LastIndexByte(valid, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(valid[dot+1:])
	sig[0] ^= 1
	tamperedSig := valid[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
	parts := strings.Split(valid, ".")
	otherPayload, _ := json.Marshal(with(c(), "sub", "admin"))
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherPayload) + "." + parts[2]

	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	payload := b64(c())
	algNone := b64(map[string]string{"alg": "none", "typ": "at+jwt", "kid": "k1"}) + "." + payload + "."

	// HS256 with the published public key as the secret: the classic
	// algorithm confusion.
	pubJSON, _ := json.Marshal(ti.published[0])
	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: pubJSON, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	hsJWS, err := hs.Sign([]byte(`{"iss":"` + ti.URL + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	hs256, _ := hsJWS.CompactSerialize()

	for _, tc := range []struct {
		name    string
		raw     string
		wantErr error
		want    *resource.Principal // checked when set
	}{
		{"valid", valid, nil, &resource.Principal{Subject: "client-1", ClientID: "client-1",
			Scopes: []string{"audit.log:read", "team.user-group-info:read"}, TokenID: "4b4c5a3e-7d0f-4f51-9c43-2f3c1d9a6b10",
			Expiry: now.Add(900 * time.Second), Token: valid}},
		{"typ application/at+jwt in another case", s(c(), withType("Application/AT+JWT")), nil, nil},
		{"scope as a string", s(with(c(), "scope", "audit.log:read  team.user-group-info:read")), nil,
			&resource.Principal{Subject: "client-1", ClientID: "client-1", Scopes: []string{"audit.log:read", "team.user-group-info:read"},
				TokenID: "4b4c5a3e-7d0f-4f51-9c43-2f3c1d9a6b10", Expiry: now.Add(900 * time.Second)}},
		{"no scope", s(without(c(), "scope")), nil, nil},
		{"aud a string", s(with(c(), "aud", ti.Host)), nil, nil},
		{"user token", s(with(c(), "sub", "user-42")), nil, nil},
		{"ES256", ti.sign("es256", c()), nil, nil},
		{"EdDSA", ti.sign("ed", c()), nil, nil},

		{"expired", s(with(c(), "exp", now.Add(-time.Minute).Unix())), resource.ErrExpired, nil},
		{"expired within leeway", s(with(c(), "exp", now.Add(-29*time.Second).Unix())), nil, nil},
		{"expired at leeway", s(with(c(), "exp", now.Add(-30*time.Second).Unix())), resource.ErrExpired, nil},
		{"nbf in the future", s(with(c(), "nbf", now.Add(time.Minute).Unix())), resource.ErrNotYetValid, nil},
		{"nbf within leeway", s(with(c(), "nbf", now.Add(30*time.Second).Unix())), nil, nil},
		{"nbf past leeway", s(with(c(), "nbf", now.Add(31*time.Second).Unix())), resource.ErrNotYetValid, nil},
		{"iat in the future", s(with(c(), "iat", now.Add(time.Minute).Unix())), resource.ErrNotYetValid, nil},

		{"wrong iss", s(with(c(), "iss", "http://beta.gatehouse.test")), resource.ErrWrongIssuer, nil},
		{"iss with trailing slash", s(with(c(), "iss", ti.URL+"/")), resource.ErrWrongIssuer, nil},
		{"wrong aud", s(with(c(), "aud", []string{"client-1", "beta.gatehouse.test"})), resource.ErrWrongAudience, nil},
		{"aud only the client", s(with(c(), "aud", "client-1")), resource.ErrWrongAudience, nil},

		{"typ JWT", s(c(), withType("JWT")), resource.ErrTokenType, nil},
		{"no typ", s(c(), withType("")), resource.ErrTokenType, nil},
		{"alg none", algNone, resource.ErrMalformed, nil},
		{"HS256", hs256, resource.ErrMalformed, nil},
		{"not a JWS", "not-a-token", resource.ErrMalformed, nil},
		{"JWE shape", "a.b.c.d.e", resource.ErrMalformed, nil},
		{"too long", strings.Repeat("a", 20000), resource.ErrMalformed, nil},
		{"empty", "", resource.ErrNoToken, nil},

		{"tampered signature", tamperedSig, resource.ErrSignature, nil},
		{"tampered payload", tamperedPayload, resource.ErrSignature, nil},
		{"unpublished key", ti.sign("rogue", c()), resource.ErrUnknownKey, nil},
		{"unpublished key under a published kid", ti.signAs("rogue", "k1", c()), resource.ErrSignature, nil},
		{"P-256 key under an ES384 kid", ti.signAs("p256", "k1", c()), resource.ErrSignature, nil},
		{"no kid", ti.signAs("k1", "", c()), resource.ErrUnknownKey, nil},

		{"missing iss", s(without(c(), "iss")), resource.ErrMalformed, nil},
		{"missing sub", s(without(c(), "sub")), resource.ErrMalformed, nil},
		{"missing aud", s(without(c(), "aud")), resource.ErrMalformed, nil},
		{"missing exp", s(without(c(), "exp")), resource.ErrMalformed, nil},
		{"missing iat", s(without(c(), "iat")), resource.ErrMalformed, nil},
		{"missing jti", s(without(c(), "jti")), resource.ErrMalformed, nil},
		{"missing client_id", s(without(c(), "client_id")), resource.ErrMalformed, nil},
		{"scope not strings", s(with(c(), "scope", []int{1})), resource.ErrMalformed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Validate(context.Background(), tc.raw)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Validate = %v, %v; want %v", p, err, tc.wantErr)
				}
				if tc.wantErr != resource.ErrNoToken && !errors.Is(err, resource.ErrInvalidToken) {
					t.Errorf("%v does not wrap ErrInvalidToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, p, cmpopts.IgnoreUnexported(resource.Principal{}), cmpopts.IgnoreFields(resource.Principal{}, "Token")); diff != "" {
					t.Errorf("principal (-want +got):\n%s", diff)
				}
				if p.Token != tc.raw {
					t.Errorf("Token is not the raw token")
				}
			}
		})
	}
	if n := ti.hits.Load(); n != 1 {
		// The unpublished kid came within the refresh interval of the
		// first fetch.
		t.Errorf("%d JWKS fetches, want 1", n)
	}
}

func TestValidateLeewaySetting(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	now := clk.Now()
	expiredBy := func(d time.Duration) string { return ti.sign("k1", with(ti.claims(now), "exp", now.Add(-d).Unix())) }
	for _, tc := range []struct {
		name    string
		leeway  time.Duration
		raw     string
		wantErr error
	}{
		{"no leeway, just expired", -1, expiredBy(0), resource.ErrExpired},
		{"no leeway, valid a second more", -1, expiredBy(-time.Second), nil},
		{"max leeway", resource.MaxLeeway, expiredBy(59 * time.Second), nil},
		{"max leeway, expired", resource.MaxLeeway, expiredBy(60 * time.Second), resource.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ti.validator(t, clk, resource.Config{Leeway: tc.leeway})
			_, err := v.Validate(context.Background(), tc.raw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	client := &resource.Principal{Subject: "c1", ClientID: "c1", Scopes: []string{"a", "b"}}
	user := &resource.Principal{Subject: "u1", ClientID: "c1", Scopes: []string{"a"}}
	if !client.IsClient() || user.IsClient() {
		t.Errorf("IsClient: client %v, user %v", client.IsClient(), user.IsClient())
	}
	if !client.HasScope("b") || user.HasScope("b") {
		t.Errorf("HasScope")
	}
	if err := client.Require("a", "b"); err != nil {
		t.Errorf("Require: %v", err)
	}
	if err := user.Require("a", "b"); !errors.Is(err, resource.ErrInsufficientScope) {
		t.Errorf("Require = %v, want ErrInsufficientScope", err)
	}
	if _, ok := resource.FromContext(context.Background()); ok {
		t.Errorf("FromContext of an empty context")
	}
	if got, ok := resource.FromContext(resource.NewContext(context.Background(), user)); !ok || got != user {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
}

// An unknown kid refetches the JWKS once per refresh interval, however
// many tokens name it; a rotated-in key is picked up that way.
func TestJWKSUnknownKid(t *testing.T) {
	ti := newTestIssuer(t)
	ti.addKey("k2", jose.ES384, false)
	clk := newClock()
	now := clk.Now()
	v := ti.validator(t, clk, resource.Config{JWKSRefreshInterval: 10 * time.Second})
	ctx := context.Background()
	validate := func(raw string, wantErr error, wantHits int64) {
		t.Helper()
		if _, err := v.Validate(ctx, raw); !errors.Is(err, wantErr) {
			t.Fatalf("Validate: %v, want %v", err, wantErr)
		}
		if n := ti.hits.Load(); n != wantHits {
			t.Fatalf("%d JWKS fetches, want %d", n, wantHits)
		}
	}
	validate(ti.sign("k1", ti.claims(now)), nil, 1)
	validate(ti.sign("k1", with(ti.claims(now), "jti", "2")), nil, 1)

	// Within the interval of the first fetch, an unknown kid fetches
	// nothing.
	k2 := ti.sign("k2", ti.claims(now))
	validate(k2, resource.ErrUnknownKey, 1)

	// k2 signs before the cached set knows it: one refetch, then none.
	clk.Add(10 * time.Second)
	validate(k2, resource.ErrUnknownKey, 2)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := v.Validate(ctx, ti.sign("k2", with(ti.claims(now), "jti", "x"))); !errors.Is(err, resource.ErrUnknownKey) {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	wg.Wait()
	validate(k2, resource.ErrUnknownKey, 2)

	// k2 is published (a rotation): picked up at the next unknown kid
	// after the interval.
	ti.publish("k2")
	validate(k2, resource.ErrUnknownKey, 2)
	clk.Add(9 * time.Second)
	validate(k2, resource.ErrUnknownKey, 2)
	clk.Add(time.Second)
	validate(k2, nil, 3)
	validate(ti.sign("k1", with(ti.claims(now), "jti", "3")), nil, 3)

	// Many tokens with random kids at once, after the interval: one fetch.
	clk.Add(10 * time.Second)
	ti.addKey("k3", jose.ES384, false)
	for i := range 20 {
		wg.Go(func() {
			raw := ti.signAs("k3", "random-"+string(rune('a'+i)), ti.claims(now))
			if _, err := v.Validate(ctx, raw); !errors.Is(err, resource.ErrUnknownKey) {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	wg.Wait()
	if n := ti.hits.Load(); n != 4 {
		t.Errorf("%d JWKS fetches, want 4", n)
	}
}

// A set older than JWKSMaxAge is refetched in the background at its next
// use, and a key that left it stops verifying.
func TestJWKSMaxAge(t *testing.T) {
	ti := newTestIssuer(t)
	ti.addKey("k2", jose.ES384, true)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{JWKSMaxAge: time.Minute, Leeway: -1})
	ctx := context.Background()
	if _, err := v.Validate(ctx, ti.sign("k1", ti.claims(clk.Now()))); err != nil {
		t.Fatal(err)
	}
	ti.unpublish("k1")
	clk.Add(time.Minute)
	// The stale set still serves this use; a refresh starts.
	if _, err := v.Validate(ctx, ti.sign("k1", ti.claims(clk.Now()))); err != nil {
		t.Fatalf("Validate with a stale set: %v", err)
	}
	waitFor(t, func() bool { return ti.hits.Load() == 2 })
	// The refresh may still be storing the set; the next use sees it.
	waitFor(t, func() bool {
		_, err := v.Validate(ctx, ti.sign("k1", ti.claims(clk.Now())))
		return errors.Is(err, resource.ErrUnknownKey)
	})
	if _, err := v.Validate(ctx, ti.sign("k2", ti.claims(clk.Now()))); err != nil {
		t.Errorf("k2: %v", err)
	}
	if n := ti.hits.Load(); n > 3 {
		t.Errorf("%d JWKS fetches, want at most 3", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if _, ok := poll.Until(5*time.Second, cond); !ok {
		t.Fatal("condition not met in 5 s")
	}
}

// A JWKS that cannot be fetched is ErrKeysUnavailable, not a verdict on the
// token; fetches are still rate-limited, and recovery is picked up.
func TestJWKSUnavailable(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{})
	ctx := context.Background()
	raw := ti.sign("k1", ti.claims(clk.Now()))
	ti.fail.Store(true)
	for range 3 {
		_, err := v.Validate(ctx, raw)
		if !errors.Is(err, resource.ErrKeysUnavailable) || errors.Is(err, resource.ErrInvalidToken) {
			t.Fatalf("Validate = %v, want ErrKeysUnavailable only", err)
		}
	}
	if n := ti.hits.Load(); n != 1 {
		t.Errorf("%d JWKS fetches, want 1", n)
	}
	ti.fail.Store(false)
	clk.Add(time.Second) // no set yet: retried after at most a second
	if _, err := v.Validate(ctx, raw); err != nil {
		t.Fatalf("Validate after recovery: %v", err)
	}

	// With a set, an unknown kid whose refetch fails is unavailable too.
	ti.fail.Store(true)
	ti.addKey("k2", jose.ES384, true)
	clk.Add(time.Minute)
	if _, err := v.Validate(ctx, ti.sign("k2", ti.claims(clk.Now()))); !errors.Is(err, resource.ErrKeysUnavailable) {
		t.Errorf("Validate = %v, want ErrKeysUnavailable", err)
	}
	// Known keys go on verifying.
	if _, err := v.Validate(ctx, ti.sign("k1", with(ti.claims(clk.Now()), "jti", "2"))); err != nil {
		t.Errorf("Validate with a known kid: %v", err)
	}

	// A waiting caller whose context ends gives up.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	clk.Add(time.Minute)
	if _, err := v.Validate(cctx, ti.sign("k2", ti.claims(clk.Now()))); !errors.Is(err, resource.ErrKeysUnavailable) {
		t.Errorf("Validate with a cancelled context = %v", err)
	}
}

// A token presented again skips the signature verification until it
// expires; the cache stays within its bound.
func TestVerifiedTokenCache(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newClock()
	v := ti.validator(t, clk, resource.Config{TokenCacheSize: 3})
	ctx := context.Background()
	raw := ti.sign("k1", with(ti.claims(clk.Now()), "exp", clk.Now().Add(time.Minute).Unix()))
	first, err := v.Validate(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	// Even with the key gone from the set, the cached token is accepted.
	ti.unpublish("k1")
	for range 5 {
		p, err := v.Validate(ctx, raw)
		if err != nil {
			t.Fatalf("cached token: %v", err)
		}
		if diff := cmp.Diff(first, p, cmpopts.IgnoreUnexported(resource.Principal{})); diff != "" {
			t.Errorf("cached principal (-first +got):\n%s", diff)
		}
		p.Scopes[0] = "changed" // a caller's change does not reach the cache
	}
	if n := v.Verifications(); n != 1 {
		t.Errorf("%d verifications, want 1", n)
	}
	// Past exp + leeway the cache no longer answers.
	clk.Add(time.Minute + 30*time.Second)
	if _, err := v.Validate(ctx, raw); !errors.Is(err, resource.ErrInvalidToken) {
		t.Errorf("expired cached token: %v", err)
	}

	ti.addKey("k2", jose.ES384, true)
	clk.Add(time.Minute)
	for i := range 10 {
		if _, err := v.Validate(ctx, ti.sign("k2", with(ti.claims(clk.Now()), "jti", string(rune('a'+i))))); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.CachedTokens(); n > 3 {
		t.Errorf("%d cached tokens, bound 3", n)
	}
}

// The public bound is the one the claims check applies.
func TestMaxLeeway(t *testing.T) {
	if resource.MaxLeeway != token.MaxLeeway {
		t.Errorf("MaxLeeway %v, token.MaxLeeway %v", resource.MaxLeeway, token.MaxLeeway)
	}
}
