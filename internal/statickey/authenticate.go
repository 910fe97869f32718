package statickey

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Cache bounds. Entries live until a change invalidates them; the maximum
// age is only a safety net for a change that never arrives.
const (
	cacheMaxAge   = 10 * time.Minute
	cacheLimit    = 100_000
	missingMaxAge = time.Minute
	missingLimit  = 10_000 // a spray of made-up key ids fills this, not the keys' cache
)

// Credential names of authz.Subject.
const (
	CredentialUserKey = "user_api_key"
	CredentialAppKey  = "app_key"
)

// DeprecatedUseEvery is how often, at most, the use of one key after its
// team's deprecation date is audited, per node.
const DeprecatedUseEvery = time.Hour

type cacheKey struct{ team, id string }

// name is the key as a string, unique since team names hold no NUL.
func (k cacheKey) name() string { return k.team + "\x00" + k.id }

func (s *Service) init() {
	s.once.Do(func() {
		s.keys = change.New[cacheKey, store.StaticKey](change.Options[cacheKey]{
			Name: cacheKey.name, Limit: cacheLimit, MaxAge: cacheMaxAge,
			AbsentLimit: missingLimit, AbsentMaxAge: missingMaxAge,
			Now: s.Now, Label: "static_keys", Monitor: s.Caches})
	})
}

// Use is one use of a key: when, and from where.
type Use struct {
	At        time.Time // zero: the service's clock
	IP        string
	UserAgent string
}

// lookup returns the key from the cache, loading it on a miss; ok is false
// when the team has no such key.
func (s *Service) lookup(ctx context.Context, team, id string) (store.StaticKey, bool, error) {
	s.init()
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	k, ok, err := s.keys.Get(cacheKey{team, id}, func() (store.StaticKey, bool, error) {
		k, err := s.Store.Key(lctx, team, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.StaticKey{}, false, nil
		}
		return k, err == nil, err
	})
	if err != nil {
		return store.StaticKey{}, false, fmt.Errorf("static key %s: %w", id, err)
	}
	return k, ok, nil
}

// Authenticate checks a static key sent as kind (KindUser: "Bearer";
// KindApp: "AppKey") to team, and returns who it authenticates and the
// notice the caller must be given. The notice depends on the team's policy
// only, and comes with refusals too, so that every answer to a static key
// carries it once keys are deprecated.
//
// A refused key is an error wrapping ErrInvalidKey whose Reason may be
// shown; other errors are the store's (when a cold lookup fails). The
// secret is checked in constant time. After the sunset date every key is
// refused, with a reason that points to OAuth 2.0 and the policy's link.
//
// The subject's principal is the application of an AppKey, with its name,
// or the user of a user API key, with only its ID (Principal.Kind
// authz.User, UserID): the caller resolves the user and its grants with
// authz.Checker, which refuses a disabled user.
//
// Warm, Authenticate reads and writes nothing in the store: see
// Invalidate, Run and Flush.
func (s *Service) Authenticate(ctx context.Context, team store.Team, kind, key string, use Use) (authz.Subject, Notice, error) {
	if use.At.IsZero() {
		use.At = s.now()
	}
	now := use.At
	p, _ := s.EffectivePolicy(team)
	notice := p.Notice(now)
	k, err := s.verify(ctx, team.Name, key)
	if p.SunsetAt != nil && !now.Before(*p.SunsetAt) {
		if err == nil {
			if err := s.auditDeprecatedUse(team.Name, k, use, "refused"); err != nil {
				return authz.Subject{}, notice, err
			}
		} else if !errors.Is(err, ErrInvalidKey) {
			return authz.Subject{}, notice, err
		}
		return authz.Subject{}, notice, sunsetRefusal(p)
	}
	if err != nil {
		return authz.Subject{}, notice, err
	}
	switch {
	case k.Kind != kind && k.Kind == KindUser:
		return authz.Subject{}, notice, errUserAsApp
	case k.Kind != kind:
		return authz.Subject{}, notice, errAppAsUser
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return authz.Subject{}, notice, errExpired
	}
	if notice.Active() {
		if err := s.auditDeprecatedUse(team.Name, k, use, "allowed"); err != nil {
			return authz.Subject{}, notice, err
		}
	}
	s.uses.record(team.Name, k.ID, use)
	sub := authz.Subject{Team: team.Name, AllScopes: true, TokenID: k.ID}
	if k.Kind == KindUser {
		sub.Principal = authz.Principal{Kind: authz.User}
		sub.UserID = k.Owner
		sub.Credential = CredentialUserKey
	} else {
		sub.Principal = authz.Principal{Kind: authz.App, Name: k.Owner}
		sub.Credential = CredentialAppKey
	}
	return sub, notice, nil
}

// verify finds the key of team that raw encodes and checks its secret.
func (s *Service) verify(ctx context.Context, team, raw string) (store.StaticKey, error) {
	decoded, ok := decode(raw)
	if !ok {
		return store.StaticKey{}, errMalformed
	}
	k, found, err := s.lookup(ctx, team, decoded[:uuidLen])
	if err != nil {
		return store.StaticKey{}, err
	}
	if !found || !s.Hasher.Verify(decoded, k.Hash) {
		return store.StaticKey{}, errUnknown
	}
	return k, nil
}

// sunsetRefusal is the refusal of every key after the sunset date.
func sunsetRefusal(p Policy) error {
	msg := "static keys were retired on " + p.SunsetAt.UTC().Format(time.RFC3339) +
		": authenticate with an OAuth 2.0 access token from an OAuth client instead (POST /oauth2/token)"
	if p.Link != "" {
		msg += "; see " + p.Link
	}
	return &refusal{msg}
}

// Invalidate drops the cached keys that change c may have touched: a
// change of a key, or of anything that deletes keys with it (a user, an
// application, a team), or of everything. The server subscribes it to the
// change hub, so that a write by any process reaches this one's cache
// within the delivery time of store.Store.Watch.
func (s *Service) Invalidate(c store.Change) {
	if change.Missed(c) {
		s.init()
		s.keys.Expire(func(cacheKey) bool { return true })
		return
	}
	var match func(cacheKey) bool
	switch c.Kind {
	case store.KindKey:
		if c.Team != "" && c.Key != "" {
			s.init()
			s.keys.InvalidateKey(cacheKey{c.Team, c.Key})
			return
		}
		match = func(k cacheKey) bool { return change.Covers(c, k.team, store.KindKey, k.id) }
	case "", store.KindTeam, store.KindUser, store.KindApp:
		// A user or an application takes its keys with it; the change
		// names the owner, not the keys.
		match = func(k cacheKey) bool { return c.Team == "" || c.Team == k.team }
	default:
		return
	}
	s.init()
	s.keys.Invalidate(match)
}

// invalidate drops one key from this process's cache after this Service
// changed it, without waiting for the change to come round.
func (s *Service) invalidate(team, id string) {
	s.Invalidate(store.Change{Team: team, Kind: store.KindKey, Key: id})
}

// auditDeprecatedUse records a "key.use.deprecated" event, at most once
// per DeprecatedUseEvery per key. When the audit trail cannot take it the
// error (a store.ErrUnavailable) refuses the use, and the next use tries
// again.
func (s *Service) auditDeprecatedUse(team string, k store.StaticKey, use Use, outcome string) error {
	ck := cacheKey{team, k.ID}
	if s.Audit == nil || !s.deprUses.allow(ck, use.At) {
		return nil
	}
	a := kernel.Actor{ID: "key:" + k.ID, IP: use.IP, UserAgent: use.UserAgent}
	if err := s.Audit.Add(kernel.Event(a, use.At, team, "key.use.deprecated", "key:"+k.ID,
		map[string]string{"kind": k.Kind, "owner": k.Owner, "outcome": outcome})); err != nil {
		s.deprUses.forget(ck, use.At)
		return fmt.Errorf("authenticate static key: %w", err)
	}
	return nil
}

// auditLimiter lets one event per key through per DeprecatedUseEvery.
type auditLimiter struct {
	mu   sync.Mutex
	last map[cacheKey]time.Time
}

// maxLimited bounds the limiter; when it fills, entries older than the
// period go.
const maxLimited = 100_000

func (l *auditLimiter) allow(k cacheKey, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[k]; ok && now.Sub(t) < DeprecatedUseEvery && !now.Before(t) {
		return false
	}
	if l.last == nil {
		l.last = map[cacheKey]time.Time{}
	}
	if len(l.last) >= maxLimited {
		for key, t := range l.last {
			if now.Sub(t) >= DeprecatedUseEvery {
				delete(l.last, key)
			}
		}
		if len(l.last) >= maxLimited {
			clear(l.last)
		}
	}
	l.last[k] = now
	return true
}

// forget takes back the allow of k at now.
func (l *auditLimiter) forget(k cacheKey, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[k]; ok && t.Equal(now) {
		delete(l.last, k)
	}
}
