package statickey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Auditor takes the audit events that a static key's use must leave
// (auditlog.Batcher is one): Add returns once the event is durable, or an
// error wrapping store.ErrUnavailable.
type Auditor interface {
	Add(e store.AuditEvent) error
}

// Service manages and authenticates static keys.
//
// Store and Hasher are required; Clients is required by Migrate; Audit
// receives the deprecated-use events (nil: they are not audited, as in
// the CLI, which authenticates nothing). Default is the server's policy;
// validate it with Policy.Validate. Gen's zero value draws from
// crypto/rand; Now defaults to time.Now; Log to a discarding logger.
// Set the fields before first use and do not change them after. A
// Service must not be copied after first use.
type Service struct {
	Store   store.Store
	Hasher  *secret.Hasher
	Gen     secret.Generator
	Now     func() time.Time
	Default Policy
	Clients *client.Service
	Audit   Auditor
	Log     *slog.Logger
	// Caches counts and logs the keys served stale while the store
	// cannot answer (nil: not counted).
	Caches *change.Monitor

	// FlushInterval is how often Run writes last uses that are due
	// (0: every second). A key's last use is written at most once per
	// UseInterval (0: a minute).
	FlushInterval time.Duration
	UseInterval   time.Duration

	once sync.Once
	keys *change.Cache[cacheKey, store.StaticKey] // keys, and ids known to have none
	uses useLog
	// useLogMu guards useLogged: when the last-use writer last logged a
	// failure.
	useLogMu  sync.Mutex
	useLogged time.Time
	deprUses  auditLimiter
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Key is a static key as listings show it: never its hash or secret.
type Key struct {
	store.StaticKey        // Hash is nil
	OwnerName       string // the user's email, or the application's name
}

// NewKey is what making a key takes.
type NewKey struct {
	Kind      string        // KindUser or KindApp
	Owner     string        // the user's email, or the application's name
	ExpiresIn time.Duration // 0: never expires
	ExpiresAt *time.Time    // instead of ExpiresIn: when it stops working
}

// Create makes a static key and returns it with the key itself, which is
// shown this once: the store keeps only its hash. It is refused when the
// team's policy refuses new keys. The audit event is "key.create".
func (s *Service) Create(ctx context.Context, a kernel.Actor, team string, in NewKey) (Key, secret.Secret, error) {
	if s.Hasher == nil {
		return Key{}, "", errors.New("create key: no secret hasher")
	}
	if in.Kind != KindUser && in.Kind != KindApp {
		return Key{}, "", fmt.Errorf("%w key kind %q: want %s or %s", kernel.ErrInvalid, in.Kind, KindUser, KindApp)
	}
	if in.ExpiresIn < 0 {
		return Key{}, "", fmt.Errorf("%w expires in %s: want a positive duration, or none for a key that does not expire", kernel.ErrInvalid, in.ExpiresIn)
	}
	if in.ExpiresAt != nil && (in.ExpiresIn != 0 || !in.ExpiresAt.After(s.now())) {
		return Key{}, "", kernel.InvalidField("expires_at", "expires at %s: want a time in the future (and no expires-in)", in.ExpiresAt.UTC().Format(time.RFC3339))
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return Key{}, "", fmt.Errorf("create key: %w", err)
	}
	sec, err := s.Gen.Token()
	if err != nil {
		return Key{}, "", fmt.Errorf("create key: %w", err)
	}
	full := Format(id, sec.Reveal())
	now := s.now()
	k := store.StaticKey{Team: team, ID: id, Kind: in.Kind, CreatedAt: now,
		Hash: s.Hasher.Hash(id + ":" + sec.Reveal())}
	if in.ExpiresIn > 0 {
		exp := now.Add(in.ExpiresIn)
		k.ExpiresAt = &exp
	}
	if in.ExpiresAt != nil {
		exp := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		k.ExpiresAt = &exp
	}
	var ownerName string
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		t, err := teamIn(ctx, q, team)
		if err != nil {
			return err
		}
		if p, _ := s.EffectivePolicy(t); p.refusesNew(now) {
			return fmt.Errorf("%w: team %s no longer accepts new static keys (deprecated since %s); register an OAuth 2.0 client instead%s",
				ErrRefusedNew, team, timeOrNow(p.deprecatedSince(), now), seeLink(p.Link))
		}
		k.Owner, ownerName, err = ownerIn(ctx, q, team, in.Kind, in.Owner)
		if err != nil {
			return err
		}
		// Whoever gets the key acts as its owner: the actor must hold
		// what the owner holds.
		if err := mayActAs(ctx, q, a, team, in.Kind, ownerName, "a key of "+ownerName); err != nil {
			return err
		}
		if err := q.CreateKey(ctx, k); err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		detail := map[string]string{"kind": k.Kind, "owner": ownerName}
		if k.ExpiresAt != nil {
			detail["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
		}
		return q.AppendAudit(ctx, kernel.Event(a, now, team, "key.create", "key:"+id, detail))
	})
	if err != nil {
		return Key{}, "", err
	}
	s.invalidate(team, id) // a cached "missing"
	k.Hash = nil
	return Key{StaticKey: k, OwnerName: ownerName}, secret.Secret(full), nil
}

// mayActAs checks that a holds what the owner of a key (of kind, named
// as people read it) holds, since what is made gives its holder the
// owner's permissions.
func mayActAs(ctx context.Context, q store.Queries, a kernel.Actor, team, kind, owner, what string) error {
	if a.Authority == nil {
		return nil
	}
	p := authz.Principal{Kind: authz.App, Name: owner}
	if kind == KindUser {
		p.Kind = authz.User
	}
	held, err := authz.HeldIn(ctx, q, team, p.String())
	if err != nil {
		return err
	}
	return a.MayHandOn(what, held.TeamAdmin, held.Grants)
}

// ErrRefusedNew reports a key that the team's policy does not let be made.
var ErrRefusedNew = errors.New("new static keys refused")

func timeOrNow(t *time.Time, now time.Time) string {
	if t == nil {
		return now.Format(time.RFC3339)
	}
	return t.UTC().Format(time.RFC3339)
}

func seeLink(link string) string {
	if link == "" {
		return ""
	}
	return " (see " + link + ")"
}

// ownerIn finds a key's owner within q: a user by email, or an application
// by name. It returns the owner as the key stores it and as people read it.
func ownerIn(ctx context.Context, q store.Queries, team, kind, owner string) (stored, name string, err error) {
	if kind == KindUser {
		email, err := kernel.NormalizeEmail(owner)
		if err != nil {
			return "", "", kernel.AsInvalidField("user", err)
		}
		u, err := q.UserByEmail(ctx, team, email)
		if errors.Is(err, store.ErrNotFound) {
			return "", "", kernel.AsInvalidField("user", fmt.Errorf("user %s in team %s: %w", email, team, store.ErrNotFound))
		} else if err != nil {
			return "", "", err
		}
		return u.ID, u.Email, nil
	}
	if owner == "" {
		return "", "", kernel.InvalidField("app", "application name: must not be empty")
	}
	if _, err := q.App(ctx, team, owner); errors.Is(err, store.ErrNotFound) {
		return "", "", kernel.AsInvalidField("app", fmt.Errorf("application %q in team %s: %w", owner, team, store.ErrNotFound))
	} else if err != nil {
		return "", "", err
	}
	return owner, owner, nil
}

// teamIn reads a team within q, with clear errors.
func teamIn(ctx context.Context, q store.Queries, team string) (store.Team, error) {
	if err := kernel.TeamExists(ctx, q, team); err != nil {
		return store.Team{}, err
	}
	return q.Team(ctx, team)
}

// keyIn reads a key within q, naming it when it is missing.
func keyIn(ctx context.Context, q store.Queries, team, id string) (store.StaticKey, error) {
	if !validID(id) {
		return store.StaticKey{}, keyNotFound(team, id)
	}
	k, err := q.Key(ctx, team, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.StaticKey{}, keyNotFound(team, id)
	}
	return k, err
}

func keyNotFound(team, id string) error {
	return fmt.Errorf("static key %q in team %s: %w", id, team, store.ErrNotFound)
}

// List lists a team's keys, oldest first, with their owners' names.
func (s *Service) List(ctx context.Context, team string) ([]Key, error) {
	if err := kernel.TeamExists(ctx, s.Store, team); err != nil {
		return nil, err
	}
	ks, err := s.Store.ListKeys(ctx, team)
	if err != nil {
		return nil, err
	}
	emails, err := s.emails(ctx, team, ks)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		k.Hash = nil
		name := k.Owner
		if k.Kind == KindUser {
			name = emails[k.Owner]
		}
		out = append(out, Key{StaticKey: k, OwnerName: name})
	}
	return out, nil
}

// Query selects keys for Find: a user's (by email) or an application's,
// not used since UsedBefore (never used included) or used since
// UsedSince. Zero fields select every key.
type Query struct {
	User, App             string
	UsedBefore, UsedSince *time.Time
}

// Find lists a page of the team's keys that f selects, in the order
// they were made (creation time, then id), with their owners' names. An
// owner that does not exist is a wrapped store.ErrNotFound.
func (s *Service) Find(ctx context.Context, team string, f Query, p store.Page) ([]Key, string, error) {
	if err := kernel.TeamExists(ctx, s.Store, team); err != nil {
		return nil, "", err
	}
	sf := store.KeyFilter{UsedBefore: f.UsedBefore, UsedSince: f.UsedSince}
	switch {
	case f.User != "" && f.App != "":
		return nil, "", kernel.InvalidField("user", "owner: give a user or an application, not both")
	case f.User != "":
		id, _, err := ownerIn(ctx, s.Store, team, KindUser, f.User)
		if err != nil {
			return nil, "", err
		}
		sf.Kind, sf.Owner = KindUser, id
	case f.App != "":
		sf.Kind, sf.Owner = KindApp, f.App
	}
	return s.find(ctx, team, sf, p)
}

// FindOwn lists a page of the user's own keys (the profile's).
func (s *Service) FindOwn(ctx context.Context, team, userID string, p store.Page) ([]Key, string, error) {
	return s.find(ctx, team, store.KeyFilter{Kind: KindUser, Owner: userID}, p)
}

func (s *Service) find(ctx context.Context, team string, f store.KeyFilter, p store.Page) ([]Key, string, error) {
	ks, next, err := s.Store.FindKeys(ctx, team, f, p)
	if err != nil {
		return nil, "", err
	}
	emails, err := s.emails(ctx, team, ks)
	if err != nil {
		return nil, "", err
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		k.Hash = nil
		name := k.Owner
		if k.Kind == KindUser {
			name = emails[k.Owner]
		}
		out = append(out, Key{StaticKey: k, OwnerName: name})
	}
	return out, next, nil
}

// DeleteOwn deletes one of the user's own keys; another's key, or none,
// is a wrapped store.ErrNotFound. The audit event is "key.delete".
func (s *Service) DeleteOwn(ctx context.Context, a kernel.Actor, team, userID, id string) error {
	defer s.invalidate(team, id)
	return s.Store.Tx(ctx, func(q store.Queries) error {
		k, err := keyIn(ctx, q, team, id)
		if err != nil {
			return err
		}
		if k.Kind != KindUser || k.Owner != userID {
			return keyNotFound(team, id)
		}
		if err := q.DeleteKey(ctx, team, id); err != nil {
			return fmt.Errorf("delete key: %w", err)
		}
		return q.AppendAudit(ctx, kernel.Event(a, s.now(), team, "key.delete", "key:"+id,
			map[string]string{"kind": k.Kind, "owner": k.Owner}))
	})
}

// ReportPage is Report for one page of the keys, in the order they were made.
func (s *Service) ReportPage(ctx context.Context, team string, p store.Page) (Report, string, error) {
	t, err := teamIn(ctx, s.Store, team)
	if err != nil {
		return Report{}, "", err
	}
	ks, next, err := s.find(ctx, team, store.KeyFilter{}, p)
	if err != nil {
		return Report{}, "", err
	}
	now := s.now()
	pol, own := s.EffectivePolicy(t)
	r := Report{Team: team, Policy: pol, OwnPolicy: own, Status: pol.Status(now), Keys: make([]ReportEntry, 0, len(ks))}
	for _, k := range ks {
		r.Keys = append(r.Keys, ReportEntry{Key: k, Status: r.Status})
	}
	return r, next, nil
}

// emails maps the IDs of the owners of user keys to their emails, read in
// one query.
func (s *Service) emails(ctx context.Context, team string, ks []store.StaticKey) (map[string]string, error) {
	out := map[string]string{}
	var ids []string
	for _, k := range ks {
		if k.Kind != KindUser {
			continue
		}
		if _, ok := out[k.Owner]; !ok {
			out[k.Owner] = ""
			ids = append(ids, k.Owner)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		us, err := s.Store.UsersByID(ctx, team, ids[:n])
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out[u.ID] = u.Email
		}
		ids = ids[n:]
	}
	return out, nil
}

// Delete deletes a key; it stops working on every node within the change
// delivery time. The audit event is "key.delete".
func (s *Service) Delete(ctx context.Context, a kernel.Actor, team, id string) error {
	defer s.invalidate(team, id)
	return s.Store.Tx(ctx, func(q store.Queries) error {
		if err := kernel.TeamExists(ctx, q, team); err != nil {
			return err
		}
		k, err := keyIn(ctx, q, team, id)
		if err != nil {
			return err
		}
		if err := q.DeleteKey(ctx, team, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return keyNotFound(team, id)
			}
			return fmt.Errorf("delete key: %w", err)
		}
		return q.AppendAudit(ctx, kernel.Event(a, s.now(), team, "key.delete", "key:"+id,
			map[string]string{"kind": k.Kind, "owner": k.Owner}))
	})
}

// ReportEntry is a key in the report: the key, and its status under the
// team's policy (StatusActive, StatusDeprecated or StatusSunset).
type ReportEntry struct {
	Key
	Status string
}

// Report is every static key of a team, for planning the migration to
// OAuth 2.0: owner, kind, dates, last use, the policy's status, and the
// client each key was migrated to.
type Report struct {
	Team      string
	Policy    Policy
	OwnPolicy bool // the team's own policy, rather than the server's
	Status    string
	Keys      []ReportEntry
}

// Report reports on a team's keys as of now.
func (s *Service) Report(ctx context.Context, team string) (Report, error) {
	t, err := teamIn(ctx, s.Store, team)
	if err != nil {
		return Report{}, err
	}
	ks, err := s.List(ctx, team)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	p, own := s.EffectivePolicy(t)
	r := Report{Team: team, Policy: p, OwnPolicy: own, Status: p.Status(now), Keys: make([]ReportEntry, 0, len(ks))}
	for _, k := range ks {
		r.Keys = append(r.Keys, ReportEntry{Key: k, Status: r.Status})
	}
	return r, nil
}
