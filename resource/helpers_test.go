package resource_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/resource"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testIssuer is a stand-in for a Gatehouse team: a JWKS endpoint whose
// keys the test publishes, and the private keys to sign tokens with.
type testIssuer struct {
	t    testing.TB
	srv  *httptest.Server
	URL  string // the issuer
	Host string // the audience
	hits atomic.Int64
	fail atomic.Bool // answer 500

	mu        sync.Mutex
	published []jose.JSONWebKey
	private   map[string]testKey
}

type testKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// newTestIssuer starts an issuer that publishes one ES384 key, "k1".
func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{t: t, private: map[string]testKey{}}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/jwks" {
			http.NotFound(w, r)
			return
		}
		ti.hits.Add(1)
		if ti.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		ti.mu.Lock()
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: ti.published})
		ti.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(b)
	}))
	t.Cleanup(ti.srv.Close)
	ti.URL = ti.srv.URL
	u, _ := url.Parse(ti.URL)
	ti.Host = u.Host
	ti.addKey("k1", jose.ES384, true)
	return ti
}

// addKey makes a key of alg, and publishes it if publish.
func (ti *testIssuer) addKey(kid string, alg jose.SignatureAlgorithm, publish bool) {
	ti.t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		ti.t.Fatalf("alg %s", alg)
	}
	if err != nil {
		ti.t.Fatal(err)
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.private[kid] = testKey{alg, priv}
	if publish {
		ti.published = append(ti.published, jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"})
	}
}

// publish adds the key kid, made by addKey, to the JWKS.
func (ti *testIssuer) publish(kid string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	k := ti.private[kid]
	ti.published = append(ti.published, jose.JSONWebKey{Key: k.priv.Public(), KeyID: kid, Algorithm: string(k.alg), Use: "sig"})
}

// unpublish removes kid from the JWKS.
func (ti *testIssuer) unpublish(kid string) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for i, k := range ti.published {
		if k.KeyID == kid {
			ti.published = append(ti.published[:i], ti.published[i+1:]...)
			return
		}
	}
}

// claims are a valid token's claims at now, as Gatehouse writes them for a
// client credentials token.
func (ti *testIssuer) claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       ti.URL,
		"sub":       "client-1",
		"aud":       []string{"client-1", ti.Host},
		"client_id": "client-1",
		"azp":       "client-1",
		"scope":     []string{"audit.log:read", "team.user-group-info:read"},
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(900 * time.Second).Unix(),
		"jti":       "4b4c5a3e-7d0f-4f51-9c43-2f3c1d9a6b10",
	}
}

// sign signs claims with the key kid, with typ at+jwt and kid in the
// header unless a header option says otherwise.
func (ti *testIssuer) sign(kid string, claims map[string]any, opts ...func(*jose.SignerOptions)) string {
	ti.t.Helper()
	return ti.signAs(kid, kid, claims, opts...)
}

// signAs signs claims with the key kid and names headerKid ("": none) in
// the header.
func (ti *testIssuer) signAs(kid, headerKid string, claims map[string]any, opts ...func(*jose.SignerOptions)) string {
	ti.t.Helper()
	ti.mu.Lock()
	k, ok := ti.private[kid]
	ti.mu.Unlock()
	if !ok {
		ti.t.Fatalf("no key %q", kid)
	}
	o := (&jose.SignerOptions{}).WithType("at+jwt")
	for _, f := range opts {
		f(o)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: headerKid}}, o)
	if err != nil {
		ti.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		ti.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		ti.t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		ti.t.Fatal(err)
	}
	return raw
}

// validator returns a validator of ti's tokens on clk, with cfg's other
// settings.
func (ti *testIssuer) validator(t testing.TB, clk *clock, cfg resource.Config) *resource.Validator {
	t.Helper()
	cfg.Issuer = ti.URL
	if clk != nil {
		cfg.Now = clk.Now
	}
	v, err := resource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func withType(typ string) func(*jose.SignerOptions) {
	return func(o *jose.SignerOptions) {
		if typ == "" {
			delete(o.ExtraHeaders, jose.HeaderType)
			return
		}
		o.WithType(jose.ContentType(typ))
	}
}

func with(claims map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		claims[kv[i].(string)] = kv[i+1]
	}
	return claims
}

func without(claims map[string]any, names ...string) map[string]any {
	for _, n := range names {
		delete(claims, n)
	}
	return claims
}
