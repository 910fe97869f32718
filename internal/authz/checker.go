package authz

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrUnknownPrincipal reports a credential whose principal no longer
// exists in the team, or is a disabled user: its credentials stop working.
var ErrUnknownPrincipal = errors.New("the credential's principal no longer exists or is disabled")

// Entry is a principal as the rule needs it.
type Entry struct {
	Principal Principal
	UserID    string
	Grants    Grants
}

// Checker reads principals and their grants live from the store, through
// a cache that every write to users, groups, applications, clients or
// permissions of the team invalidates (on every node, within a second), so
// a grant or a revoke applies to tokens already issued. A warm lookup does
// no database read.
type Checker struct {
	store store.Store
	cache *change.Cache[entryKey, Entry] // principals, and those known to be missing or disabled
}

type entryKey struct{ team, kind, id string }

// name is the key as a string, unique since neither team names nor
// principal kinds hold a NUL.
func (k entryKey) name() string { return k.team + "\x00" + k.kind + "\x00" + k.id }

// Cache bounds. Entries live until a change invalidates them; the maximum
// ages are only safety nets for a change that never arrives.
const (
	cacheLimit    = 200_000
	cacheMaxAge   = 10 * time.Minute
	missingLimit  = 20_000 // tokens of deleted principals fill this, not the principals' side
	missingMaxAge = time.Minute
)

// NewChecker returns a checker over st, on the clock now (nil:
// time.Now). While the store cannot answer, the principals it holds are
// served as they are (stale-if-error), counted and logged by caches (nil:
// not counted).
func NewChecker(st store.Store, now func() time.Time, caches *change.Monitor) *Checker {
	return &Checker{store: st, cache: change.New[entryKey, Entry](change.Options[entryKey]{
		Name: entryKey.name, Limit: cacheLimit, MaxAge: cacheMaxAge,
		AbsentLimit: missingLimit, AbsentMaxAge: missingMaxAge,
		Now: now, Label: "grants", Monitor: caches})}
}

// Invalidate drops what a change may have touched. A change of one user,
// application or client that names it drops that principal only: its
// record is all of it that such a change alters (a user's group
// memberships come with a change of the user too). Groups and permissions
// alter the grants of many principals, so their changes, and changes of a
// team or of everything, drop the team's entries. Word of missed changes
// (change.Missed) only expires every entry: each is read again before it
// is used fresh, and served as it is while the store cannot answer.
func (c *Checker) Invalidate(ch store.Change) {
	if change.Missed(ch) {
		c.cache.Expire(func(entryKey) bool { return true })
		return
	}
	switch ch.Kind {
	case store.KindUser, store.KindApp, store.KindClient:
		if ch.Team != "" && ch.Key != "" {
			c.cache.InvalidateKey(entryKey{ch.Team, principalKind(ch.Kind), ch.Key})
			return
		}
	case "", store.KindTeam, store.KindGroup, store.KindPermission:
	default:
		return
	}
	c.cache.Invalidate(func(k entryKey) bool { return ch.Team == "" || ch.Team == k.team })
}

// principalKind is the principal kind of a store change kind.
func principalKind(kind string) string {
	switch kind {
	case store.KindUser:
		return User
	case store.KindApp:
		return App
	}
	return Client
}

// Resolve returns the principal of kind (User, App or Client) identified by
// id (a user's ID, an application's name, a client_id) with its grants, or
// ErrUnknownPrincipal.
func (c *Checker) Resolve(ctx context.Context, team, kind, id string) (Entry, error) {
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	e, ok, err := c.cache.Get(entryKey{team, kind, id}, func() (Entry, bool, error) {
		e, err := c.load(lctx, team, kind, id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrUnknownPrincipal) {
			return Entry{}, false, nil // cached as absent
		}
		return e, err == nil, err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("resolve %s %s: %w", kind, id, err)
	}
	if !ok {
		return Entry{}, ErrUnknownPrincipal
	}
	return e, nil
}

func (c *Checker) load(ctx context.Context, team, kind, id string) (Entry, error) {
	switch kind {
	case User:
		u, err := c.store.User(ctx, team, id)
		if err != nil {
			return Entry{}, err
		}
		if u.Disabled {
			return Entry{}, ErrUnknownPrincipal
		}
		e := Entry{Principal: Principal{Kind: User, Name: u.Email}, UserID: u.ID}
		if u.TeamAdmin {
			e.Grants.TeamAdmin = true
			return e, nil
		}
		holders := []string{e.Principal.String()}
		groups, err := c.store.UserGroups(ctx, team, u.ID)
		if err != nil {
			return Entry{}, err
		}
		for _, g := range groups {
			holders = append(holders, Principal{Kind: Group, Name: g}.String())
		}
		for _, h := range holders {
			if err := c.addGrants(ctx, team, h, &e.Grants); err != nil {
				return Entry{}, err
			}
		}
		return e, nil
	case App:
		if _, err := c.store.App(ctx, team, id); err != nil {
			return Entry{}, err
		}
	case Client:
		if _, err := c.store.Client(ctx, team, id); err != nil {
			return Entry{}, err
		}
	default:
		return Entry{}, fmt.Errorf("principal kind %q cannot authenticate", kind)
	}
	e := Entry{Principal: Principal{Kind: kind, Name: id}}
	return e, c.addGrants(ctx, team, e.Principal.String(), &e.Grants)
}

func (c *Checker) addGrants(ctx context.Context, team, holder string, g *Grants) error {
	ps, err := c.store.ListPermissions(ctx, team, holder)
	if err != nil {
		return err
	}
	for _, p := range ps {
		g.List = append(g.List, Grant{Action: p.Action, Resource: p.Resource})
	}
	return nil
}

// ResolveName resolves a principal written as in permissions
// (user:<email>, app:<name>, client:<client_id>).
func (c *Checker) ResolveName(ctx context.Context, team string, p Principal) (Entry, error) {
	if p.Kind != User {
		return c.Resolve(ctx, team, p.Kind, p.Name)
	}
	u, err := c.store.UserByEmail(ctx, team, p.Name)
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, ErrUnknownPrincipal
	}
	if err != nil {
		return Entry{}, fmt.Errorf("resolve %s: %w", p, err)
	}
	return c.Resolve(ctx, team, User, u.ID)
}
