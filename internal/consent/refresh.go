package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// CheckRefresh checks a refresh token presented by client c (RFC 6749
// section 6) without spending it, and returns it with the scopes a new
// access token may carry: the token's, as far as the consent and the
// client's registration still allow. The caller then narrows the scopes
// and calls Rotate.
//
// A token already spent is refused with an error wrapping ErrReplay, after
// its whole family and the access tokens of its user and client are
// revoked (RFC 9700 section 4.14.2).
func (s *Service) CheckRefresh(ctx context.Context, team string, c store.Client, raw string) (store.RefreshToken, []string, error) {
	hash := s.Hasher.Hash(raw)
	tok, err := s.Store.RefreshToken(ctx, team, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.RefreshToken{}, nil, refused("the refresh token is unknown or expired")
	case err != nil:
		return store.RefreshToken{}, nil, fmt.Errorf("read refresh token: %w", err)
	}
	// Bound to its client (RFC 6749 section 10.4): another client learns
	// nothing, and spends nothing.
	if tok.ClientID != c.ID {
		return store.RefreshToken{}, nil, refused("the refresh token was issued to another client")
	}
	if tok.RevokedAt != nil {
		return tok, nil, refused("the refresh token was revoked")
	}
	if tok.UsedAt != nil {
		return tok, nil, s.replayed(ctx, team, tok)
	}
	now := s.now()
	if !now.Before(tok.FamilyExpiresAt) {
		return tok, nil, refused("the refresh token expired; the user must authorize the client again")
	}
	if !now.Before(tok.ExpiresAt) {
		return tok, nil, refused("the refresh token expired unused")
	}
	cons, err := s.active(ctx, team, tok.UserID, tok.ClientID, nil)
	if err != nil {
		return tok, nil, err
	}
	var allowed []string
	for _, sc := range tok.Scopes {
		if slices.Contains(cons.Scopes, sc) && slices.Contains(c.Scopes, sc) {
			allowed = append(allowed, sc)
		}
	}
	return tok, allowed, nil
}

// Rotate spends the refresh token tok, checked by CheckRefresh, and issues
// its successor in the same family, with the same scopes (RFC 6749
// section 6: a new refresh token's scope is the old one's), expiring when
// unused for RefreshIdleTTL but never after the family. A token that was
// spent meanwhile (a concurrent use) is a replay, as in CheckRefresh.
func (s *Service) Rotate(ctx context.Context, team string, tok store.RefreshToken) (secret.Secret, error) {
	raw, err := s.Gen.Token()
	if err != nil {
		return "", fmt.Errorf("issue refresh token: %w", err)
	}
	now := s.now()
	next := store.RefreshToken{
		Team: team, Hash: s.Hasher.Hash(raw.Reveal()), FamilyID: tok.FamilyID, ClientID: tok.ClientID,
		UserID: tok.UserID, Scopes: tok.Scopes, AuthTime: tok.AuthTime, CreatedAt: now,
		ExpiresAt: minTime(now.Add(s.RefreshIdleTTL), tok.FamilyExpiresAt), FamilyExpiresAt: tok.FamilyExpiresAt,
	}
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		if _, err := q.UseRefreshToken(ctx, team, tok.Hash, now); err != nil {
			return err
		}
		return q.CreateRefreshToken(ctx, next)
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return "", s.replayed(ctx, team, tok)
	case errors.Is(err, store.ErrNotFound):
		return "", refused("the refresh token is unknown or expired")
	case err != nil:
		return "", fmt.Errorf("rotate refresh token: %w", err)
	}
	s.touch(ctx, team, tok.UserID, tok.ClientID)
	return raw, nil
}

// replayed revokes the grant of a spent refresh token presented again and
// returns the refusal.
func (s *Service) replayed(ctx context.Context, team string, tok store.RefreshToken) error {
	if err := s.revokeGrant(ctx, team, tok.FamilyID, tok.UserID, tok.ClientID); err != nil {
		return err
	}
	return &GrantError{Reason: "the refresh token was used before; its family and the access tokens issued with it are revoked", Replay: true}
}

// ErrOtherClient reports a refresh token that is not the caller's.
var ErrOtherClient = errors.New("the token was not issued to this client")

// RevokeRefresh revokes, for token revocation (RFC 7009 section 2.1), the
// family of refresh token raw and the access tokens of its grant. found
// is false for a token unknown here; a token of another client is
// ErrOtherClient and revokes nothing.
func (s *Service) RevokeRefresh(ctx context.Context, team, clientID, raw string) (tok store.RefreshToken, found bool, err error) {
	tok, err = s.Store.RefreshToken(ctx, team, s.Hasher.Hash(raw))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.RefreshToken{}, false, nil
	case err != nil:
		return store.RefreshToken{}, false, fmt.Errorf("read refresh token: %w", err)
	case tok.ClientID != clientID:
		return store.RefreshToken{}, true, ErrOtherClient
	}
	return tok, true, s.revokeGrant(ctx, team, tok.FamilyID, tok.UserID, tok.ClientID)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
