package resource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/token"
)

// Defaults for [Config].
const (
	DefaultLeeway              = 30 * time.Second
	MaxLeeway                  = 60 * time.Second
	DefaultJWKSRefreshInterval = 10 * time.Second
	DefaultJWKSMaxAge          = 5 * time.Minute
	DefaultCheckCacheTTL       = 5 * time.Second
	DefaultTokenCacheSize      = 10000
	DefaultHTTPTimeout         = 10 * time.Second
)

// maxTokenSize bounds the tokens Validate looks at; Gatehouse's are well
// under 2 KiB.
const maxTokenSize = 16 << 10

// allowedAlgs are the only algorithms a token's header may name: never
// "none", never an HMAC (RFC 8725 section 3.1).
var allowedAlgs = []jose.SignatureAlgorithm{jose.ES384, jose.ES256, jose.EdDSA}

// Config configures a [Validator]. Only Issuer is required.
type Config struct {
	// Issuer is the team URL, e.g. https://acme.gatehouse.example: a
	// token's iss must equal it exactly.
	Issuer string
	// Audience must be one of a token's aud. Default: the issuer's host
	// (acme.gatehouse.example), the audience of every token of the team.
	Audience string
	// JWKSURL is where the team's keys are published.
	// Default: Issuer + "/oauth2/jwks".
	JWKSURL string
	// HTTPClient fetches the JWKS and calls the permission endpoint.
	// Default: a client with a DefaultHTTPTimeout timeout.
	HTTPClient *http.Client
	// Leeway tolerates clock skew in exp, nbf and iat. 0: DefaultLeeway;
	// negative: none; at most MaxLeeway.
	Leeway time.Duration
	// JWKSRefreshInterval is the least time between two fetches of the
	// JWKS caused by tokens whose kid the cached set lacks.
	// 0: DefaultJWKSRefreshInterval.
	JWKSRefreshInterval time.Duration
	// JWKSMaxAge is the age at which the cached JWKS is refetched, in the
	// background, at its next use. 0: DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// TokenCacheSize bounds the cache of verified tokens, which spares a
	// token presented again its signature verification until it expires.
	// 0: DefaultTokenCacheSize; negative: no cache.
	TokenCacheSize int

	// CheckURL is Gatehouse's permission endpoint.
	// Default: Issuer + "/api/authz/check".
	CheckURL string
	// CheckCredential is the resource server's own credential for the
	// permission endpoint, typically the TokenSource of a
	// golang.org/x/oauth2/clientcredentials.Config. Check fails without.
	CheckCredential oauth2.TokenSource
	// CheckCacheTTL is how long an answer of the permission endpoint is
	// reused for the same token, scope, action and resource.
	// 0: DefaultCheckCacheTTL; negative: no cache.
	CheckCacheTTL time.Duration

	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger reports JWKS fetch failures and failed permission checks,
	// which the middleware answers with 503. Default: discard.
	Logger *slog.Logger
}

// Validator validates a team's access tokens offline, against the team's
// JWKS, and asks the team for permissions. It is safe for concurrent use.
type Validator struct {
	issuer, audience string
	leeway           time.Duration
	now              func() time.Time
	log              *slog.Logger
	realm            string // the WWW-Authenticate realm, quoted-string safe

	keys     *keySet
	verified *boundedCache[[sha256.Size]byte, *Principal]
	verifies atomic.Int64 // signature verifications, for tests

	client     *http.Client
	checkURL   string
	credential oauth2.TokenSource
	checkTTL   time.Duration
	checks     *boundedCache[checkKey, Decision]
}

// New returns a Validator for cfg, or an error that lists every problem of
// cfg.
func New(cfg Config) (*Validator, error) {
	var errs []error
	iss, err := url.Parse(cfg.Issuer)
	switch {
	case cfg.Issuer == "":
		errs = append(errs, errors.New("Issuer is required: the team URL, e.g. https://acme.gatehouse.example"))
	case err != nil:
		errs = append(errs, fmt.Errorf("Issuer: %w", err))
	case (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" || iss.User != nil ||
		iss.RawQuery != "" || iss.Fragment != "" || strings.HasSuffix(cfg.Issuer, "/"):
		errs = append(errs, fmt.Errorf("Issuer %q is not a team URL such as https://acme.gatehouse.example (no trailing slash)", cfg.Issuer))
	}
	v := &Validator{
		issuer: cfg.Issuer, audience: cfg.Audience, leeway: cfg.Leeway, now: cfg.Now, log: cfg.Logger,
		client: cfg.HTTPClient, checkURL: cfg.CheckURL, checkTTL: cfg.CheckCacheTTL,
	}
	if v.audience == "" && iss != nil {
		v.audience = iss.Host
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	case v.leeway > MaxLeeway:
		errs = append(errs, fmt.Errorf("Leeway %v is more than %v: fix the clocks instead", cfg.Leeway, MaxLeeway))
	}
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		jwksURL = cfg.Issuer + "/oauth2/jwks"
	} else if err := checkURL(jwksURL); err != nil {
		errs = append(errs, fmt.Errorf("JWKSURL: %w", err))
	}
	if v.checkURL == "" {
		v.checkURL = cfg.Issuer + "/api/authz/check"
	} else if err := checkURL(v.checkURL); err != nil {
		errs = append(errs, fmt.Errorf("CheckURL: %w", err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("resource: invalid config: %w", errors.Join(errs...))
	}

	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	v.realm = quotable(v.audience)
	refresh, maxAge := cfg.JWKSRefreshInterval, cfg.JWKSMaxAge
	if refresh <= 0 {
		refresh = DefaultJWKSRefreshInterval
	}
	if maxAge <= 0 {
		maxAge = DefaultJWKSMaxAge
	}
	v.keys = &keySet{url: jwksURL, client: v.client, refresh: refresh, maxAge: maxAge, now: v.now,
		onFetch: func(err error) {
			if err != nil {
				v.log.Warn("gatehouse JWKS fetch failed", "url", jwksURL, "err", err)
			}
		}}
	size := cfg.TokenCacheSize
	if size == 0 {
		size = DefaultTokenCacheSize
	}
	v.verified = newBoundedCache[[sha256.Size]byte, *Principal](size)
	if v.checkTTL == 0 {
		v.checkTTL = DefaultCheckCacheTTL
	}
	if v.checkTTL > 0 {
		v.checks = newBoundedCache[checkKey, Decision](DefaultTokenCacheSize)
	}
	if cfg.CheckCredential != nil {
		v.credential = oauth2.ReuseTokenSource(nil, cfg.CheckCredential)
	}
	return v, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// Issuer is the iss the validator accepts.
func (v *Validator) Issuer() string { return v.issuer }

// Audience is the aud the validator requires, and the realm of its
// challenges.
func (v *Validator) Audience() string { return v.audience }

// Validate checks that raw is an access token of the issuer (RFC 9068
// section 4) and returns its principal:
//
//   - a JWS compact serialization signed with ES384, ES256 or EdDSA (never
//     "none" or an HMAC), whose header typ is at+jwt or application/at+jwt;
//   - signed by the key of the issuer's JWKS that the header's kid names
//     (the JWKS is fetched on first use, refetched when older than
//     JWKSMaxAge and, at most once per JWKSRefreshInterval, for an unknown
//     kid);
//   - with claims iss, sub, aud, exp, iat, jti and client_id; iss equal to
//     the issuer; aud containing the audience; exp not passed and nbf and
//     iat not in the future, give or take the leeway. scope may be a JSON
//     array or a space-separated string.
//
// A token that passed is remembered, by its SHA-256, until it expires, so
// that presenting it again costs no signature verification.
//
// Errors: [ErrNoToken] for an empty raw; an error wrapping
// [ErrInvalidToken] (and one of its reasons) for a bad token; an error
// wrapping [ErrKeysUnavailable] when the JWKS could not be fetched.
func (v *Validator) Validate(ctx context.Context, raw string) (*Principal, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	if len(raw) > maxTokenSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenSize)
	}
	// One spelling per token: go-jose would skip whitespace inside it, and
	// every spelling would be verified and remembered anew.
	if !token.IsCompact(raw) {
		return nil, fmt.Errorf("%w: not three base64url segments", ErrMalformed)
	}
	h := sha256.Sum256([]byte(raw))
	now := v.now()
	if p, ok := v.verified.get(h, now); ok {
		cp := *p
		cp.Scopes = slices.Clone(p.Scopes)
		return &cp, nil
	}

	jws, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrMalformed, len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Protected
	typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: %q", ErrTokenType, typ)
	}
	if hdr.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	k, err := v.keys.key(ctx, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	if !k.fits(hdr.Algorithm) {
		return nil, fmt.Errorf("%w: alg %s does not fit key %q", ErrSignature, hdr.Algorithm, hdr.KeyID)
	}
	v.verifies.Add(1)
	payload, err := jws.Verify(k.key)
	if err != nil {
		return nil, ErrSignature
	}
	c, err := token.Validate(payload, now, token.Expectation{Issuer: v.issuer, Audience: v.audience, Leeway: v.leeway})
	if err != nil {
		return nil, claimError(err)
	}
	p := &Principal{Subject: c.Subject, ClientID: c.ClientID, Scopes: c.Scopes, TokenID: c.JTI, Expiry: c.Expiry,
		Token: raw, hash: h}
	v.verified.put(h, p, c.Expiry.Add(v.leeway), now)
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	return &cp, nil
}

// boundedCache maps keys to values until a deadline, with at most max
// entries: when full, it drops the expired entries and, if that is not
// enough, a tenth of the others.
type boundedCache[K comparable, V any] struct {
	max int // <= 0: the cache keeps nothing
	mu  sync.RWMutex
	m   map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v     V
	until time.Time
}

func newBoundedCache[K comparable, V any](max int) *boundedCache[K, V] {
	return &boundedCache[K, V]{max: max, m: map[K]cacheEntry[V]{}}
}

func (c *boundedCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *boundedCache[K, V]) put(k K, v V, until, now time.Time) {
	if c.max <= 0 || !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = cacheEntry[V]{v, until}
}

func (c *boundedCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
