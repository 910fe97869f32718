package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Cache bounds. Entries live until a change invalidates them; the maximum
// age is only a safety net for a change that never arrives.
const (
	cacheMaxAge    = 10 * time.Minute
	cacheLimit     = 100_000
	missingMaxAge  = time.Minute
	missingLimit   = 10_000 // an attacker spraying client_ids fills this, not the clients' cache
	canonicalIDLen = 36
)

// The reasons Authenticate gives, each wrapping ErrInvalidClient; built
// once so that a failure does not allocate.
var (
	errMalformedID   = fmt.Errorf("%w: client_id is not a UUID", ErrInvalidClient)
	errUnknownClient = fmt.Errorf("%w: no such client in this team", ErrInvalidClient)
	errBadSecret     = fmt.Errorf("%w: wrong or expired secret", ErrInvalidClient)
	errClientMissing = fmt.Errorf("client: %w", store.ErrNotFound)
)

type cacheKey struct{ team, id string }

// name is the key as a string, unique since team names hold no NUL.
func (k cacheKey) name() string { return k.team + "\x00" + k.id }

func (s *Service) init() {
	s.once.Do(func() {
		s.clients = change.New[cacheKey, store.Client](change.Options[cacheKey]{
			Name: cacheKey.name, Limit: cacheLimit, MaxAge: cacheMaxAge,
			AbsentLimit: missingLimit, AbsentMaxAge: missingMaxAge,
			Now: s.Now, Label: "clients", Monitor: s.Caches})
	})
}

// ValidID reports whether id is a UUID in canonical lower-case form, the
// only form Create makes: anything else names no client, and callers
// refuse it before they count, log or store it.
func ValidID(id string) bool {
	if len(id) != canonicalIDLen {
		return false
	}
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// lookup returns the client from the cache, loading it on a miss; ok is
// false when the team has no such client.
func (s *Service) lookup(ctx context.Context, team, id string) (store.Client, bool, error) {
	s.init()
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	c, ok, err := s.clients.Get(cacheKey{team, id}, func() (store.Client, bool, error) {
		c, err := s.Store.Client(lctx, team, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.Client{}, false, nil
		}
		return c, err == nil, err
	})
	if err != nil {
		return store.Client{}, false, fmt.Errorf("client %s: %w", id, err)
	}
	return c, ok, nil
}

// Authenticate checks a client's credentials (RFC 6749 section 2.3.1) and
// returns the client. Any failure of the credentials is an error wrapping
// ErrInvalidClient; other errors are the store's (when a cold lookup
// fails). The secret is checked, in constant time, against every secret of
// the client that has not expired (ExpiresAt after Now).
//
// Warm, Authenticate reads nothing from the store: see Invalidate. The
// client it returns has no Secrets and shares its slices with the cache:
// do not modify them.
func (s *Service) Authenticate(ctx context.Context, team, clientID, secretValue string) (store.Client, error) {
	if !ValidID(clientID) {
		return store.Client{}, errMalformedID
	}
	c, ok, err := s.lookup(ctx, team, clientID)
	if err != nil {
		return store.Client{}, err
	}
	if !ok {
		return store.Client{}, errUnknownClient
	}
	now := s.now()
	match := false
	for _, sec := range c.Secrets {
		if sec.ExpiresAt != nil && !sec.ExpiresAt.After(now) {
			continue
		}
		// No early exit: every live secret is checked.
		if s.Hasher.Verify(secretValue, sec.Hash) {
			match = true
		}
	}
	if !match {
		return store.Client{}, errBadSecret
	}
	c.Secrets = nil
	return c, nil
}

// Client returns a client of the team through the same cache as
// Authenticate, for callers that need its registration (the authorization
// endpoint, token issuance). A missing client, or a client_id that is not a
// UUID, is an error wrapping store.ErrNotFound. The client has no Secrets
// and shares its slices with the cache: do not modify them.
func (s *Service) Client(ctx context.Context, team, id string) (store.Client, error) {
	if !ValidID(id) {
		return store.Client{}, errClientMissing
	}
	c, ok, err := s.lookup(ctx, team, id)
	if err != nil {
		return store.Client{}, err
	}
	if !ok {
		return store.Client{}, errClientMissing
	}
	c.Secrets = nil
	return c, nil
}

// Invalidate drops the cached clients that change c may have touched: a
// change of kind client (one client, or every client of a team) or a
// change of every kind (a team deleted, a watcher restarted). The server
// subscribes it to the change hub, so that a write by any process reaches
// this one's cache within the delivery time of store.Store.Watch.
func (s *Service) Invalidate(c store.Change) {
	if c.Kind != "" && c.Kind != store.KindClient {
		return
	}
	s.init()
	if change.Missed(c) {
		s.clients.Expire(func(cacheKey) bool { return true })
		return
	}
	if c.Team != "" && c.Key != "" {
		s.clients.InvalidateKey(cacheKey{c.Team, c.Key})
		return
	}
	s.clients.Invalidate(func(k cacheKey) bool { return change.Covers(c, k.team, store.KindClient, k.id) })
}

// invalidate drops one client from this process's cache after this
// Service changed it, without waiting for the change to come round.
func (s *Service) invalidate(team, id string) {
	s.Invalidate(store.Change{Team: team, Kind: store.KindClient, Key: id})
}
