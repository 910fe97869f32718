package resource

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxJWKSSize bounds the JWKS document read from the issuer.
const maxJWKSSize = 1 << 20

// fetchTimeout bounds one JWKS fetch, whoever waits for it.
const fetchTimeout = 10 * time.Second

// publicKey is a usable key of the issuer's JWKS.
type publicKey struct {
	alg string // the JWK's alg, "" when it names none
	key crypto.PublicKey
}

// keySet is the issuer's JWKS as last fetched (RFC 7517 section 5). A
// fetch runs in its own goroutine, one at a time; callers wait for it or
// for their context. Unknown kids refetch at most once per refresh; a set
// older than maxAge is refetched at its next use while that use goes on
// with the set it has.
type keySet struct {
	url     string
	client  *http.Client
	refresh time.Duration
	maxAge  time.Duration
	now     func() time.Time
	onFetch func(error) // called after every fetch; may be nil

	mu        sync.Mutex
	keys      map[string]publicKey // by kid; nil until a fetch succeeds
	fetchedAt time.Time            // of the last successful fetch
	triedAt   time.Time            // of the last fetch, successful or not
	lastErr   error                // of the last fetch
	inflight  chan struct{}        // closed when the running fetch ends; nil when none runs
}

// key returns the key with kid, fetching the set on first use, when it is
// older than maxAge, and when kid is unknown (at most once per refresh).
func (s *keySet) key(ctx context.Context, kid string) (publicKey, error) {
	for waited := false; ; waited = true {
		s.mu.Lock()
		now := s.now()
		if k, ok := s.keys[kid]; ok {
			if now.Sub(s.fetchedAt) >= s.maxAge && s.inflight == nil && now.Sub(s.triedAt) >= s.refresh {
				s.start(ctx, now) // refresh in the background; this use goes on
			}
			s.mu.Unlock()
			return k, nil
		}
		done := s.inflight
		if done == nil && !waited && now.Sub(s.triedAt) >= s.retry() {
			done = s.start(ctx, now)
		}
		if done == nil || waited {
			err := s.miss(kid)
			s.mu.Unlock()
			return publicKey{}, err
		}
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return publicKey{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, context.Cause(ctx))
		}
	}
}

// retry is the least time between fetches for an unknown kid: the refresh
// interval, or at most a second while no fetch has succeeded yet, so that
// a resource server that starts before its issuer recovers quickly.
// s.mu is held.
func (s *keySet) retry() time.Duration {
	if s.keys == nil {
		return min(s.refresh, time.Second)
	}
	return s.refresh
}

// miss is the error for a kid that the set, as it is, lacks. s.mu is held.
func (s *keySet) miss(kid string) error {
	switch {
	case s.keys == nil && s.lastErr != nil:
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, s.lastErr)
	case s.keys == nil:
		return ErrKeysUnavailable
	case s.lastErr != nil:
		// The set we hold lacks kid and a fresher one could not be had:
		// the token may be good, so this is no verdict on it.
		return fmt.Errorf("%w: kid %q unknown and %w", ErrKeysUnavailable, kid, s.lastErr)
	}
	return fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// start begins a fetch and returns the channel closed when it ends. s.mu is
// held. The fetch outlives ctx's cancellation, since others may wait for
// it, but keeps its values.
func (s *keySet) start(ctx context.Context, now time.Time) chan struct{} {
	done := make(chan struct{})
	s.inflight, s.triedAt = done, now
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		keys, err := s.fetch(fctx)
		cancel()
		s.mu.Lock()
		if err == nil {
			s.keys, s.fetchedAt = keys, s.now()
		}
		s.lastErr, s.inflight = err, nil
		s.mu.Unlock()
		close(done)
		if s.onFetch != nil {
			s.onFetch(err)
		}
	}()
	return done
}

// fetch reads and parses the JWKS. Keys that are not usable for an allowed
// algorithm (RSA, symmetric, encryption keys, keys without kid) are
// skipped, so that one odd key does not hide the others.
func (s *keySet) fetch(ctx context.Context) (map[string]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("fetch JWKS %s: status %d", s.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", s.url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch JWKS %s: larger than %d bytes", s.url, maxJWKSSize)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", s.url, err)
	}
	return keys, nil
}

// parseJWKS parses a JWKS document (RFC 7517 section 5) into its usable
// keys by kid, skipping the others.
func parseJWKS(body []byte) (map[string]publicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if doc.Keys == nil {
		return nil, errors.New(`no "keys" member`)
	}
	keys := make(map[string]publicKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil || jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") {
			continue
		}
		if _, dup := keys[jwk.KeyID]; dup {
			continue
		}
		pub := jwk.Public() // never keep a private member someone published
		switch k := pub.Key.(type) {
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
				continue
			}
		case ed25519.PublicKey:
		default:
			continue
		}
		keys[jwk.KeyID] = publicKey{alg: jwk.Algorithm, key: pub.Key}
	}
	return keys, nil
}

// fits reports whether k may verify a signature of alg: the JWK's alg, if
// any, is alg, and the key's type and curve are those alg needs (RFC 7518
// section 3.4, RFC 8037 section 3.1).
func (k publicKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch p := k.key.(type) {
	case *ecdsa.PublicKey:
		return (alg == string(jose.ES256) && p.Curve == elliptic.P256()) ||
			(alg == string(jose.ES384) && p.Curve == elliptic.P384())
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}
