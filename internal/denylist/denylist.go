// Package denylist is the set of revoked access tokens that every node
// refuses until they expire: single tokens by jti (RFC 7009), and grant
// cut-offs, which refuse every token a user delegated to a client up to a
// moment (consent revoked, an authorization code or a refresh token
// replayed; RFC 6749 section 10.5, RFC 9700 section 4.14). The entries of
// each team are read once and kept until a revocation anywhere changes
// them, so a warm check costs map lookups and no database read.
package denylist

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// CutoffRetention is how long a grant cut-off is kept: longer than any
// access token lives (24 h at most) plus the clock leeway resource
// servers allow, so that every token it refuses has expired when it goes.
const CutoffRetention = 24*time.Hour + 5*time.Minute

// List is the denylist of every team.
type List struct {
	store   store.Store
	now     func() time.Time
	cache   *change.Cache[string, map[string]time.Time]
	cutoffs *change.Cache[string, map[pair]time.Time]
}

// pair is a user and a client: a grant.
type pair struct{ user, client string }

// New returns the denylist over st.
func New(st store.Store, now func() time.Time) *List {
	if now == nil {
		now = time.Now
	}
	return &List{store: st, now: now,
		cache:   change.NewCache[string, map[string]time.Time](10*time.Minute, 0),
		cutoffs: change.NewCache[string, map[pair]time.Time](10*time.Minute, 0)}
}

// Invalidate drops the teams a change may have touched.
func (l *List) Invalidate(c store.Change) {
	match := func(team string) bool { return c.Team == "" || c.Team == team }
	if c.Kind == "" || c.Kind == store.KindRevoked {
		l.cache.Invalidate(match)
	}
	if c.Kind == "" || c.Kind == store.KindGrantRevoked {
		l.cutoffs.Invalidate(match)
	}
}

// Revoked reports whether the team's token jti is revoked.
func (l *List) Revoked(ctx context.Context, team, jti string) (bool, error) {
	set, err := l.cache.Get(team, func() (map[string]time.Time, error) {
		rs, err := l.store.ListRevokedTokens(ctx, team, l.now())
		if err != nil {
			return nil, fmt.Errorf("read denylist: %w", err)
		}
		set := make(map[string]time.Time, len(rs))
		for _, r := range rs {
			set[r.JTI] = r.ExpiresAt
		}
		return set, nil
	})
	if err != nil {
		return false, err
	}
	_, ok := set[jti]
	return ok, nil
}

// Refused reports whether an access token of the team with claims c,
// whose signature and claims were checked, is revoked: its jti is listed,
// or it is a user-delegated token (sub, the user, is not the client) issued
// at or before a cut-off of its user and client.
//
// Tokens carry their issue time in whole seconds, so a cut-off refuses the
// tokens of its pair issued in the rest of its second too: a client that
// gets one refreshes again.
func (l *List) Refused(ctx context.Context, team string, c token.Claims) (bool, error) {
	if revoked, err := l.Revoked(ctx, team, c.JTI); err != nil || revoked {
		return revoked, err
	}
	if c.Subject == c.ClientID {
		return false, nil // client credentials: no user delegated it
	}
	cut, ok, err := l.Cutoff(ctx, team, c.Subject, c.ClientID)
	if err != nil || !ok {
		return false, err
	}
	return c.IssuedAt.Unix() <= cut.Unix(), nil
}

// Cutoff returns the cut-off of a user's grant to a client, if any.
func (l *List) Cutoff(ctx context.Context, team, userID, clientID string) (time.Time, bool, error) {
	m, err := l.cutoffs.Get(team, func() (map[pair]time.Time, error) {
		rs, err := l.store.ListGrantRevocations(ctx, team, l.now())
		if err != nil {
			return nil, fmt.Errorf("read grant cut-offs: %w", err)
		}
		m := make(map[pair]time.Time, len(rs))
		for _, r := range rs {
			m[pair{r.UserID, r.ClientID}] = r.RevokedAt
		}
		return m, nil
	})
	if err != nil {
		return time.Time{}, false, err
	}
	t, ok := m[pair{userID, clientID}]
	return t, ok, nil
}

// Revoke adds a token until its expiry; every node refuses it within a
// second.
func (l *List) Revoke(ctx context.Context, team, jti string, expiresAt time.Time) error {
	if err := l.store.RevokeToken(ctx, store.RevokedToken{Team: team, JTI: jti, ExpiresAt: expiresAt}); err != nil {
		return err
	}
	// This node need not wait for its own change to come back.
	l.Invalidate(store.Change{Team: team, Kind: store.KindRevoked})
	return nil
}

// GrantCutoff is the record that cuts off, at `at`, the access tokens a
// user delegated to a client, for the caller to write with
// store.Queries.RevokeGrant, in a transaction of its own if need be. Once
// it commits, hand store.Change{Team: team, Kind: store.KindGrantRevoked}
// to Invalidate so that this node need not wait for the change to come
// round.
func GrantCutoff(team, userID, clientID string, at time.Time) store.GrantRevocation {
	return store.GrantRevocation{Team: team, UserID: userID, ClientID: clientID,
		RevokedAt: at, ExpiresAt: at.Add(CutoffRetention)}
}

// RevokeGrant cuts off, at `at`, every access token the user delegated to
// the client; every node refuses them within a second.
func (l *List) RevokeGrant(ctx context.Context, team, userID, clientID string, at time.Time) error {
	if err := l.store.RevokeGrant(ctx, GrantCutoff(team, userID, clientID, at)); err != nil {
		return err
	}
	l.Invalidate(store.Change{Team: team, Kind: store.KindGrantRevoked})
	return nil
}
