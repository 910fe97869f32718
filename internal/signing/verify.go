package signing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/token"
)

// ErrInvalid is wrapped by every error Verify returns for a bad token, as
// opposed to a failure to load the keys.
var ErrInvalid = errors.New("invalid token")

// Reasons a token is invalid; each wraps ErrInvalid.
var (
	// ErrMalformed: not a JWS compact serialization with one signature
	// by an allowed algorithm (ES384, ES256, EdDSA).
	ErrMalformed = fmt.Errorf("%w: malformed JWS", ErrInvalid)
	// ErrType: the header's typ is not at+jwt (RFC 9068 section 4), or
	// not JWT for an ID token.
	ErrType = fmt.Errorf("%w: typ is not %s", ErrInvalid, TokenType)
	// ErrUnknownKey: no published key of the team has the header's kid.
	ErrUnknownKey = fmt.Errorf("%w: unknown signing key", ErrInvalid)
	// ErrSignature: the signature does not verify with that key.
	ErrSignature = fmt.Errorf("%w: bad signature", ErrInvalid)
)

// allowedAlgs are the only algorithms an access token's header may name;
// in particular never "none", an HMAC or RS256.
var allowedAlgs = []jose.SignatureAlgorithm{jose.ES384, jose.ES256, jose.EdDSA}

// idTokenAlgs are those an ID token's header may name.
var idTokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES384, jose.ES256, jose.EdDSA}

// Header is the verified protected header of a token.
type Header struct {
	Alg   string
	KeyID string
	Type  string
}

// Verify checks that token is a JWS compact serialization of type at+jwt
// (also "application/at+jwt", case-insensitively; RFC 9068 section 4)
// signed by one of the team's published keys, and returns its payload and
// header. It checks no claims: that is the token package's work. A bad
// token gives an error wrapping ErrInvalid; any other error is a failure
// to load the team's keys.
func (m *Manager) Verify(ctx context.Context, team, raw string) ([]byte, Header, error) {
	return m.verify(ctx, team, raw, allowedAlgs, isTokenType)
}

// VerifyIDToken is Verify for an ID token this server issued (typ JWT,
// any algorithm of SignIDToken), such as an id_token_hint: no access
// token passes it, and it passes no access token.
func (m *Manager) VerifyIDToken(ctx context.Context, team, raw string) ([]byte, Header, error) {
	return m.verify(ctx, team, raw, idTokenAlgs, func(typ string) bool { return strings.EqualFold(typ, IDTokenType) })
}

func (m *Manager) verify(ctx context.Context, team, raw string, algs []jose.SignatureAlgorithm, typeOK func(string) bool) ([]byte, Header, error) {
	// One spelling per token: go-jose would skip whitespace inside it.
	if !token.IsCompact(raw) {
		return nil, Header{}, fmt.Errorf("%w: not three base64url segments", ErrMalformed)
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return nil, Header{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, Header{}, ErrMalformed
	}
	ph := jws.Signatures[0].Protected
	h := Header{Alg: ph.Algorithm, KeyID: ph.KeyID}
	h.Type, _ = ph.ExtraHeaders[jose.HeaderType].(string)
	if !typeOK(h.Type) {
		return nil, h, ErrType
	}
	now := m.now()
	r, err := m.ring(ctx, team)
	if err != nil {
		return nil, h, err
	}
	k := r.published(h.KeyID, now)
	if k == nil && h.KeyID != "" && m.mayReloadForKid(team, now) {
		// Perhaps another node made the key a moment ago and its change
		// is still on the way.
		if r, err = m.reload(ctx, team, r); err != nil {
			return nil, h, err
		}
		k = r.published(h.KeyID, now)
	}
	if k == nil {
		return nil, h, ErrUnknownKey
	}
	if k.alg != h.Alg {
		return nil, h, fmt.Errorf("%w: alg %s with a %s key", ErrSignature, h.Alg, k.alg)
	}
	payload, err := jws.Verify(k.pub)
	if err != nil {
		return nil, h, ErrSignature
	}
	return payload, h, nil
}

// isTokenType reports whether typ names an access token: "at+jwt" or
// "application/at+jwt" in any case (RFC 7515 section 4.1.9).
func isTokenType(typ string) bool {
	return strings.EqualFold(typ, TokenType) || strings.EqualFold(typ, "application/"+TokenType)
}

// mayReloadForKid allows a reload for an unknown kid at most once per
// unknownKidReload per team, timed from the last such reload (not from the
// last load, which background work may have done a moment ago), so that a
// key another node made is found at once while random kids cannot make
// this node read its store more than once a second.
func (m *Manager) mayReloadForKid(team string, now time.Time) bool {
	m.kidMu.Lock()
	defer m.kidMu.Unlock()
	if last, ok := m.kidReloads[team]; ok && now.Sub(last) < unknownKidReload {
		return false
	}
	if m.kidReloads == nil {
		m.kidReloads = map[string]time.Time{}
	}
	m.kidReloads[team] = now
	return true
}
