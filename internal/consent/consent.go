// Package consent keeps what users delegate to OAuth clients in the
// authorization code flow: the consent itself (a user's grant of scopes to
// a client), the authorization codes that carry it to the client (RFC 6749
// section 4.1, bound to the client, the redirect URI and a PKCE challenge,
// RFC 7636), and the refresh-token families that keep it alive (RFC 6749
// section 6, rotated on every use as RFC 9700 section 4.14.2 asks).
//
// Codes and refresh tokens are opaque 256-bit secrets stored as keyed
// hashes. A replayed code (RFC 6749 section 10.5) or a spent refresh token
// presented again revokes every token of its grant: the refresh-token
// family, and the access tokens through a grant cut-off on the denylist.
// Revoking a consent does the same for every family of the user and client.
//
// The package is domain logic: no HTTP, no SQL. The web UI and the token
// endpoint call it.
package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Service issues and redeems codes, rotates refresh tokens and keeps
// consents. Store, Hasher and Denylist are required; the lifetimes must be
// positive (config.Validate sees to it).
type Service struct {
	Store    store.Store
	Hasher   *secret.Hasher
	Gen      secret.Generator
	Now      func() time.Time // nil: time.Now
	Denylist *denylist.List

	CodeTTL            time.Duration // an authorization code's lifetime (60 s)
	RefreshIdleTTL     time.Duration // a refresh token expires when unused this long
	RefreshAbsoluteTTL time.Duration // a family expires this long after its code was redeemed
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// ErrInvalidGrant is wrapped by every refusal of a code or a refresh token
// (RFC 6749 section 5.2 invalid_grant); ErrReplay by those that found the
// secret spent before, after the tokens of its grant were revoked.
var (
	ErrInvalidGrant = errors.New("invalid grant")
	ErrReplay       = errors.New("replayed")
)

// GrantError is a refused code or refresh token. Reason may be shown to
// the client.
type GrantError struct {
	Reason string
	Replay bool
}

func (e *GrantError) Error() string { return "invalid grant: " + e.Reason }

func (e *GrantError) Unwrap() []error {
	if e.Replay {
		return []error{ErrInvalidGrant, ErrReplay}
	}
	return []error{ErrInvalidGrant}
}

func refused(reason string) error { return &GrantError{Reason: reason} }

// Remembered reports whether the user's consent to the client covers every
// one of scopes, so that the consent page can be skipped.
func (s *Service) Remembered(ctx context.Context, team, userID, clientID string, scopes []string) (bool, error) {
	c, err := s.Store.Consent(ctx, team, userID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read consent: %w", err)
	}
	return covers(c.Scopes, scopes), nil
}

// covers reports whether every scope of want is in have.
func covers(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Approve records that the user consents to the client having scopes. A
// consent is only ever widened here: the consented scopes become the union
// of the earlier consent and the approved ones, so approving a narrower
// request never takes away what another integration of the same client
// relies on. Narrowing is done by revoking and consenting again. The
// audit event is written in the same transaction.
func (s *Service) Approve(ctx context.Context, a kernel.Actor, team, userID, clientID string, scopes []string) error {
	now := s.now()
	return s.Store.Tx(ctx, func(q store.Queries) error {
		all := slices.Clone(scopes)
		old, err := q.Consent(ctx, team, userID, clientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("read consent: %w", err)
		default:
			for _, sc := range old.Scopes {
				if !slices.Contains(all, sc) {
					all = append(all, sc)
				}
			}
		}
		slices.Sort(all)
		if err := q.UpsertConsent(ctx, store.Consent{Team: team, UserID: userID, ClientID: clientID, Scopes: all,
			CreatedAt: now, UpdatedAt: now}); err != nil {
			return fmt.Errorf("record consent: %w", err)
		}
		return q.AppendAudit(ctx, kernel.Event(a, now, team, "consent.grant", "client:"+clientID,
			map[string]string{"user_id": userID, "approved": strings.Join(scopes, " "), "scopes": strings.Join(all, " ")}))
	})
}

// List returns the user's consents.
func (s *Service) List(ctx context.Context, team, userID string) ([]store.Consent, error) {
	cs, err := s.Store.ListConsents(ctx, team, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return cs, nil
}

// Revoke ends the user's consent to the client, and with it every refresh
// token of the pair and every access token issued to the pair so far (a
// grant cut-off): every node refuses them within a second. A consent that
// does not exist is an error wrapping store.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, a kernel.Actor, team, userID, clientID string) error {
	now := s.now()
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteConsent(ctx, team, userID, clientID); err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		if err := q.RevokeRefreshTokensOf(ctx, team, userID, clientID, now); err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		if err := q.RevokeGrant(ctx, denylist.GrantCutoff(team, userID, clientID, now)); err != nil {
			return fmt.Errorf("revoke consent: %w", err)
		}
		return q.AppendAudit(ctx, kernel.Event(a, now, team, "consent.revoke", "client:"+clientID,
			map[string]string{"user_id": userID}))
	})
	if err != nil {
		return err
	}
	s.Denylist.Invalidate(denylist.CutoffChange(team, userID, clientID))
	return nil
}

// revokeGrant revokes a refresh-token family and cuts off the access tokens
// of its user and client: what a replay costs.
func (s *Service) revokeGrant(ctx context.Context, team, familyID, userID, clientID string) error {
	now := s.now()
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.RevokeRefreshFamily(ctx, team, familyID, now); err != nil {
			return err
		}
		return q.RevokeGrant(ctx, denylist.GrantCutoff(team, userID, clientID, now))
	})
	if err != nil {
		return fmt.Errorf("revoke the tokens of a replayed grant: %w", err)
	}
	s.Denylist.Invalidate(denylist.CutoffChange(team, userID, clientID))
	return nil
}

// active checks that the user may still use what they delegated: the user
// exists and is enabled, and the consent to the client stands and covers
// scopes. It returns the consent.
func (s *Service) active(ctx context.Context, team, userID, clientID string, scopes []string) (store.Consent, error) {
	u, err := s.Store.User(ctx, team, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return store.Consent{}, refused("the user no longer exists or is disabled")
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("read user: %w", err)
	}
	c, err := s.Store.Consent(ctx, team, userID, clientID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !covers(c.Scopes, scopes) {
		return store.Consent{}, refused("the user's consent to this client was revoked")
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("read consent: %w", err)
	}
	return c, nil
}

// touch records a use of the consent; a failure only loses the time.
func (s *Service) touch(ctx context.Context, team, userID, clientID string) {
	_ = s.Store.TouchConsent(ctx, team, userID, clientID, s.now())
}
