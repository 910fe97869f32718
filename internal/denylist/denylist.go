// Package denylist is the set of revoked access tokens that every node
// refuses until they expire: single tokens by jti (RFC 7009), and grant
// cut-offs, which refuse every token a user delegated to a client up to a
// moment (consent revoked, an authorization code or a refresh token
// replayed; RFC 6749 section 10.5, RFC 9700 section 4.14).
//
// Each team's revoked jtis are read once and kept; a revocation anywhere
// adds its jti to the kept set in place (a revocation is never undone, its
// entry only expires), so that neither the revoking node nor any other
// reads the set again. Cut-offs are looked up per pair through a cache
// that also remembers the pairs that have none, and a cut-off drops its
// pair alone. A warm check costs map lookups and no database read.
package denylist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// CutoffRetention is how long a grant cut-off is kept: longer than any
// access token lives (24 h at most) plus the clock leeway resource
// servers allow, so that every token it refuses has expired when it goes.
const CutoffRetention = 24*time.Hour + 5*time.Minute

// Cache bounds. The maximum ages are safety nets for a change that never
// arrives; a team's set reloaded after its age also sheds the entries that
// expired meanwhile.
const (
	teamsLimit     = 100_000
	setMaxAge      = 10 * time.Minute
	cutoffLimit    = 100_000
	cutoffMaxAge   = 10 * time.Minute
	noCutoffLimit  = 200_000 // pairs known to have no cut-off: most pairs
	noCutoffMaxAge = 10 * time.Minute
)

// List is the denylist of every team.
type List struct {
	store   store.Store
	now     func() time.Time
	revoked *change.Cache[string, *revokedSet] // by team
	cutoffs *change.Cache[pair, cutoff]        // by pair; absent: no cut-off
}

// cutoff is a pair's cut-off as the store holds it.
type cutoff struct{ at, expires time.Time }

// revokedSet is a team's revoked jtis. It only grows while cached: a
// revocation is added in place, and the set is replaced only by a reload.
type revokedSet struct {
	mu   sync.RWMutex
	jtis map[string]struct{}
}

func (s *revokedSet) has(jti string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.jtis[jti]
	return ok
}

func (s *revokedSet) add(jti string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jtis[jti] = struct{}{}
}

// pair is a team's user and client: a grant.
type pair struct{ team, user, client string }

// name is the pair as a string, unique since none of its parts holds a NUL.
func (p pair) name() string { return p.team + "\x00" + p.user + "\x00" + p.client }

// New returns the denylist over st. While the store cannot answer, the
// sets and cut-offs it holds are served as they are (stale-if-error),
// counted and logged by caches (nil: not counted).
func New(st store.Store, now func() time.Time, caches *change.Monitor) *List {
	if now == nil {
		now = time.Now
	}
	return &List{store: st, now: now,
		revoked: change.New[string, *revokedSet](change.Options[string]{
			Limit: teamsLimit, MaxAge: setMaxAge, Now: now, Label: "revocations", Monitor: caches}),
		cutoffs: change.New[pair, cutoff](change.Options[pair]{
			Name: pair.name, Limit: cutoffLimit, MaxAge: cutoffMaxAge,
			AbsentLimit: noCutoffLimit, AbsentMaxAge: noCutoffMaxAge, Now: now,
			Label: "grant_cutoffs", Monitor: caches})}
}

// Invalidate applies a change: a revocation that names its jti is added to
// the team's kept set, if any, without a reload; a cut-off that names its
// pair drops that pair alone. A change that names no key (of a team, of a
// kind) drops what it may have touched, to be read again. Word of missed
// changes (change.Missed: a watcher listens again) expires everything:
// it is read again before it is used fresh, and served as it is while the
// store cannot answer.
func (l *List) Invalidate(c store.Change) {
	if change.Missed(c) {
		l.revoked.Expire(func(string) bool { return true })
		l.cutoffs.Expire(func(pair) bool { return true })
		return
	}
	if c.Kind == "" || c.Kind == store.KindRevoked {
		if c.Team != "" && c.Key != "" && c.Kind == store.KindRevoked {
			l.revoked.Modify(c.Team, func(s *revokedSet) *revokedSet { s.add(c.Key); return s })
		} else {
			l.revoked.Invalidate(func(team string) bool { return c.Team == "" || c.Team == team })
		}
	}
	if c.Kind == "" || c.Kind == store.KindGrantRevoked {
		user, client, ok := strings.Cut(c.Key, "/")
		if c.Team != "" && c.Kind == store.KindGrantRevoked && ok {
			l.cutoffs.InvalidateKey(pair{c.Team, user, client})
		} else {
			l.cutoffs.Invalidate(func(p pair) bool { return c.Team == "" || c.Team == p.team })
		}
	}
}

// Revoked reports whether the team's token jti is revoked.
func (l *List) Revoked(ctx context.Context, team, jti string) (bool, error) {
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	set, _, err := l.revoked.Get(team, func() (*revokedSet, bool, error) {
		rs, err := l.store.ListRevokedTokens(lctx, team, l.now())
		if err != nil {
			return nil, false, fmt.Errorf("read denylist: %w", err)
		}
		set := &revokedSet{jtis: make(map[string]struct{}, len(rs))}
		for _, r := range rs {
			set.jtis[r.JTI] = struct{}{}
		}
		return set, true, nil
	})
	if err != nil {
		return false, err
	}
	return set.has(jti), nil
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
	lctx := context.WithoutCancel(ctx) // a shared load: see Revoked
	c, ok, err := l.cutoffs.Get(pair{team, userID, clientID}, func() (cutoff, bool, error) {
		r, err := l.store.GrantRevocation(lctx, team, userID, clientID, l.now())
		if errors.Is(err, store.ErrNotFound) {
			return cutoff{}, false, nil
		}
		if err != nil {
			return cutoff{}, false, fmt.Errorf("read grant cut-off: %w", err)
		}
		return cutoff{r.RevokedAt, r.ExpiresAt}, true, nil
	})
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	if !l.now().Before(c.expires) {
		return time.Time{}, false, nil // expired while cached, as the store would say
	}
	return c.at, true, nil
}

// Revoke adds a token until its expiry; every node refuses it within a
// second.
func (l *List) Revoke(ctx context.Context, team, jti string, expiresAt time.Time) error {
	if err := l.store.RevokeToken(ctx, store.RevokedToken{Team: team, JTI: jti, ExpiresAt: expiresAt}); err != nil {
		return err
	}
	// This node need not wait for its own change to come back.
	l.Invalidate(store.Change{Team: team, Kind: store.KindRevoked, Key: jti})
	return nil
}

// GrantCutoff is the record that cuts off, at `at`, the access tokens a
// user delegated to a client, for the caller to write with
// store.Queries.RevokeGrant, in a transaction of its own if need be. Once
// it commits, hand CutoffChange(team, userID, clientID) to Invalidate so
// that this node need not wait for the change to come round.
func GrantCutoff(team, userID, clientID string, at time.Time) store.GrantRevocation {
	return store.GrantRevocation{Team: team, UserID: userID, ClientID: clientID,
		RevokedAt: at, ExpiresAt: at.Add(CutoffRetention)}
}

// CutoffChange is the change a cut-off of a user's grant to a client
// records: handed to Invalidate, it drops that pair alone.
func CutoffChange(team, userID, clientID string) store.Change {
	return store.Change{Team: team, Kind: store.KindGrantRevoked, Key: userID + "/" + clientID}
}

// RevokeGrant cuts off, at `at`, every access token the user delegated to
// the client; every node refuses them within a second.
func (l *List) RevokeGrant(ctx context.Context, team, userID, clientID string, at time.Time) error {
	if err := l.store.RevokeGrant(ctx, GrantCutoff(team, userID, clientID, at)); err != nil {
		return err
	}
	l.Invalidate(CutoffChange(team, userID, clientID))
	return nil
}
