// Package denylist is the set of revoked access tokens (by jti) that every
// node refuses until they expire (RFC 7009). The set of each team is read
// once and kept until a revocation anywhere changes it, so a warm check
// costs a map lookup and no database read.
package denylist

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
)

// List is the denylist of every team.
type List struct {
	store store.Store
	now   func() time.Time
	cache *change.Cache[string, map[string]time.Time]
}

// New returns the denylist over st.
func New(st store.Store, now func() time.Time) *List {
	if now == nil {
		now = time.Now
	}
	return &List{store: st, now: now, cache: change.NewCache[string, map[string]time.Time](10*time.Minute, 0)}
}

// Invalidate drops the teams a change may have touched.
func (l *List) Invalidate(c store.Change) {
	if c.Kind != "" && c.Kind != store.KindRevoked {
		return
	}
	l.cache.Invalidate(func(team string) bool { return c.Team == "" || c.Team == team })
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
