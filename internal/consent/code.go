package consent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// IssueCode makes an authorization code for the user's approved request
// (RFC 6749 section 4.1.2): 256 random bits, stored only as a keyed hash,
// single-use, living CodeTTL, bound to the client, the redirect URI, the
// PKCE challenge, the user and the scopes. It keeps the request's OpenID
// Connect nonce and authTime, when the user signed in, for the code's ID
// token: the code is spent once, so the nonce is delivered once.
func (s *Service) IssueCode(ctx context.Context, team, userID string, authTime time.Time, req Request) (secret.Secret, error) {
	code, err := s.Gen.Token()
	if err != nil {
		return "", fmt.Errorf("issue code: %w", err)
	}
	now := s.now()
	if err := s.Store.CreateAuthCode(ctx, store.AuthCode{
		Team: team, Hash: s.Hasher.Hash(code.Reveal()), ClientID: req.Client.ID, UserID: userID,
		RedirectURI: req.RedirectURI, Scopes: req.Scopes, CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: "S256", Nonce: req.Nonce, AuthTime: authTime, CreatedAt: now, ExpiresAt: now.Add(s.CodeTTL),
	}); err != nil {
		return "", fmt.Errorf("issue code: %w", err)
	}
	return code, nil
}

// FamilyOf is the refresh-token family started by the code whose hash is
// codeHash. Deriving it from the code lets a replay of the code find the
// family to revoke without storing a link.
func FamilyOf(codeHash []byte) string { return hex.EncodeToString(codeHash) }

// Redeem spends an authorization code for client c (RFC 6749 section
// 4.1.3) and returns it. The code must be unexpired and the client's;
// redirectURI must equal the authorization request's (it may be empty only
// when the client has that one redirect URI registered); verifier must
// match the code's PKCE challenge (RFC 7636 section 4.6); and the user must
// still be enabled and consenting.
//
// A code is spent by its client's first redemption, good or bad. Presented
// again by that client it is refused with an error wrapping ErrReplay,
// after the refresh-token family it started and the access tokens of its
// user and client are revoked (RFC 6749 section 10.5); the code comes back
// for the audit. Presented by another client it is refused as unknown and
// stays as it was: the store spends a code only for the client it was
// issued to, in the same statement, so that another client can neither
// spend a code nor make its owner's redemption look like a replay.
func (s *Service) Redeem(ctx context.Context, team string, c store.Client, code, redirectURI, verifier string) (store.AuthCode, error) {
	hash := s.Hasher.Hash(code)
	ac, err := s.Store.UseAuthCode(ctx, team, c.ID, hash, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.AuthCode{}, refused("the authorization code is unknown, expired or issued to another client")
	case errors.Is(err, store.ErrConflict):
		if rerr := s.revokeGrant(ctx, team, FamilyOf(hash), ac.UserID, ac.ClientID); rerr != nil {
			return ac, rerr
		}
		return ac, &GrantError{Reason: "the authorization code was used before; the tokens issued for it are revoked", Replay: true}
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("redeem code: %w", err)
	}
	if !s.now().Before(ac.ExpiresAt) {
		return ac, refused("the authorization code expired")
	}
	switch {
	case redirectURI == ac.RedirectURI:
	case redirectURI != "":
		return ac, refused("redirect_uri differs from the authorization request's")
	case len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != ac.RedirectURI:
		return ac, refused("redirect_uri is missing; send the authorization request's")
	}
	if ac.CodeChallengeMethod != "S256" || !VerifyS256(verifier, ac.CodeChallenge) {
		return ac, refused("code_verifier does not match the code_challenge")
	}
	if _, err := s.active(ctx, team, ac.UserID, ac.ClientID, ac.Scopes); err != nil {
		return ac, err
	}
	return ac, nil
}

// VerifyS256 checks a PKCE code verifier against an S256 challenge (RFC
// 7636 section 4.6): BASE64URL(SHA256(ASCII(verifier))) == challenge, in
// constant time.
func VerifyS256(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// ValidVerifier checks a code verifier's syntax (RFC 7636 section 4.1):
// 43 to 128 characters of [A-Z] [a-z] [0-9] "-" "." "_" "~".
func ValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isBase64URL(c) && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

// StartFamily issues the first refresh token of the family that a redeemed
// code starts: the code's user, client and scopes, expiring when unused
// for RefreshIdleTTL and, with the whole family, RefreshAbsoluteTTL from
// now. It records the consent's use.
func (s *Service) StartFamily(ctx context.Context, team string, ac store.AuthCode) (secret.Secret, error) {
	raw, err := s.Gen.Token()
	if err != nil {
		return "", fmt.Errorf("issue refresh token: %w", err)
	}
	now := s.now()
	familyExpiry := now.Add(s.RefreshAbsoluteTTL)
	if err := s.Store.CreateRefreshToken(ctx, store.RefreshToken{
		Team: team, Hash: s.Hasher.Hash(raw.Reveal()), FamilyID: FamilyOf(ac.Hash), ClientID: ac.ClientID,
		UserID: ac.UserID, Scopes: ac.Scopes, AuthTime: ac.AuthTime, CreatedAt: now, ExpiresAt: minTime(now.Add(s.RefreshIdleTTL), familyExpiry),
		FamilyExpiresAt: familyExpiry,
	}); err != nil {
		return "", fmt.Errorf("issue refresh token: %w", err)
	}
	s.touch(ctx, team, ac.UserID, ac.ClientID)
	return raw, nil
}
