package signing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults for [Options].
const (
	DefaultAlg          = ES384
	DefaultRotation     = 30 * 24 * time.Hour
	DefaultPublishAhead = time.Hour
	DefaultMaxTokenTTL  = 24 * time.Hour
)

// ClockSkew is the margin a retired key stays published beyond the expiry
// of the last token it may have signed, for resource servers whose clocks
// run late.
const ClockSkew = 5 * time.Minute

// cacheMaxAge bounds how long a team's keys are kept without a reload, a
// safety net for a missed change: it is far shorter than PublishAhead, so
// even a node that hears no changes learns of a new key before it signs.
const cacheMaxAge = 5 * time.Minute

// unknownKidReload is how often a token with a kid the cache lacks may
// force a reload, so that a key made by another node a moment ago verifies
// while random kids cannot hammer the database.
const unknownKidReload = time.Second

// Errors of this package; test with errors.Is.
var (
	ErrUnsupportedAlg = errors.New("unsupported signing algorithm")
	// ErrKeyUnavailable reports that the team's active key cannot sign on
	// this node: its private part does not open with this master key.
	ErrKeyUnavailable = errors.New("signing key unavailable")
)

// Options configure a [Manager]. Zero fields take the defaults.
type Options struct {
	Store     store.Store
	MasterKey masterkey.Key
	Gen       secret.Generator // kids (random UUIDs)
	Now       func() time.Time // nil: time.Now

	// Alg is the algorithm of Sign(ctx, team, "", ...): ES384, ES256 or
	// EdDSA. "": DefaultAlg.
	Alg string
	// Rotation is the age at which RotateDue replaces an active key.
	// 0: DefaultRotation; negative: never rotate automatically. It is
	// raised to at least 2*PublishAhead.
	Rotation time.Duration
	// PublishAhead is how long a rotated-in key is published before it
	// signs. 0 or negative: DefaultPublishAhead.
	PublishAhead time.Duration
	// MaxTokenTTL is the longest lifetime of any token this manager signs:
	// a retired key stays published until RetiredAt + MaxTokenTTL +
	// ClockSkew. Issuers must not sign longer-lived tokens.
	// 0 or negative: DefaultMaxTokenTTL.
	MaxTokenTTL time.Duration
	Logger      *slog.Logger // nil: discard
	// Caches counts and logs the key rings served stale while the store
	// cannot answer (nil: not counted).
	Caches *change.Monitor
	// InUse names the algorithms that a team signs other tokens with
	// besides its access tokens (the ID token algorithms of its clients),
	// whose keys RotateDue rotates rather than retires. nil: none. It is
	// asked only when a key of such an algorithm is due.
	InUse func(ctx context.Context, team string) ([]string, error)
}

// Manager keeps every team's signing keys. It is safe for concurrent use.
type Manager struct {
	store        store.Store
	mk           masterkey.Key
	gen          secret.Generator
	now          func() time.Time
	alg          string
	rotation     time.Duration // <= 0: no automatic rotation
	publishAhead time.Duration
	maxTokenTTL  time.Duration
	log          *slog.Logger
	inUse        func(ctx context.Context, team string) ([]string, error)

	rings *change.Cache[string, *ring] // by team

	lastMu sync.Mutex
	last   map[string]*ring // by team: the last ring loaded, kept to reuse its opened keys

	kidMu      sync.Mutex
	kidReloads map[string]time.Time // by team: the last reload for an unknown kid

	makeMu sync.Mutex // one first key made at a time
}

// NewManager returns a manager for opts.
func NewManager(opts Options) *Manager {
	m := &Manager{
		store: opts.Store, mk: opts.MasterKey, gen: opts.Gen, now: opts.Now,
		alg: opts.Alg, rotation: opts.Rotation, publishAhead: opts.PublishAhead,
		maxTokenTTL: opts.MaxTokenTTL, log: opts.Logger, inUse: opts.InUse,
		last: map[string]*ring{},
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.rings = change.New[string, *ring](change.Options[string]{MaxAge: cacheMaxAge, Now: m.now,
		Label: "signing_keys", Monitor: opts.Caches})
	if m.alg == "" {
		m.alg = DefaultAlg
	}
	if m.publishAhead <= 0 {
		m.publishAhead = DefaultPublishAhead
	}
	switch {
	case m.rotation == 0:
		m.rotation = DefaultRotation
	case m.rotation > 0 && m.rotation < 2*m.publishAhead:
		m.rotation = 2 * m.publishAhead
	}
	if m.maxTokenTTL <= 0 {
		m.maxTokenTTL = DefaultMaxTokenTTL
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// MaxTokenTTL is the longest token lifetime the manager's key retention
// covers; issuers cap lifetimes to it.
func (m *Manager) MaxTokenTTL() time.Duration { return m.maxTokenTTL }

// ring is a team's keys as loaded at one moment: immutable.
type ring struct {
	keys []*key // latest ActivateAt first, ties by greatest kid
}

// active returns the key of alg that signs at now, or nil.
func (r *ring) active(alg string, now time.Time) *key {
	for _, k := range r.keys {
		if k.alg == alg && k.signs(now) {
			return k
		}
	}
	return nil
}

// published returns the key kid if it is in the JWKS at now, or nil.
func (r *ring) published(kid string, now time.Time) *key {
	for _, k := range r.keys {
		if k.id == kid && k.published(now) {
			return k
		}
	}
	return nil
}

// byActivation orders keys as a ring holds them.
func byActivation(a, b *key) int {
	if c := b.activateAt.Compare(a.activateAt); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

// resolve checks alg and applies the default.
func (m *Manager) resolve(alg string) (string, error) {
	if alg == "" {
		return m.alg, nil
	}
	if _, ok := algorithms[alg]; !ok {
		return "", fmt.Errorf("%w %q", ErrUnsupportedAlg, alg)
	}
	return alg, nil
}

// Sign returns payload signed with the team's active key of alg ("": the
// manager's default) as a JWS compact serialization with the protected
// header {"alg", "kid", "typ": "at+jwt"}. If the team has no active key of
// alg, one is made that signs at once. Warm, Sign reads no database.
// Access tokens are never signed with RS256.
func (m *Manager) Sign(ctx context.Context, team, alg string, payload []byte) (string, error) {
	alg, err := m.resolve(alg)
	if err != nil {
		return "", err
	}
	if alg == RS256 {
		return "", fmt.Errorf("%w %q for an access token", ErrUnsupportedAlg, alg)
	}
	return m.sign(ctx, team, alg, payload, false)
}

// SignIDToken is Sign for an OpenID Connect ID token: the protected header
// is {"alg", "kid", "typ": "JWT"}, and alg ("": RS256, the default that
// OpenID Connect requires) may also be RS256. The team's keys of an
// algorithm sign both kinds of token and are published in one JWKS.
func (m *Manager) SignIDToken(ctx context.Context, team, alg string, payload []byte) (string, error) {
	if alg == "" {
		alg = RS256
	}
	if _, ok := algorithms[alg]; !ok {
		return "", fmt.Errorf("%w %q", ErrUnsupportedAlg, alg)
	}
	return m.sign(ctx, team, alg, payload, true)
}

func (m *Manager) sign(ctx context.Context, team, alg string, payload []byte, id bool) (string, error) {
	now := m.now()
	r, err := m.ring(ctx, team)
	if err != nil {
		return "", err
	}
	k := r.active(alg, now)
	if k == nil {
		if k, err = m.firstKey(ctx, team, alg); err != nil {
			return "", err
		}
	}
	return k.sign(payload, id)
}

// firstKey makes the team's key of alg, unless another request or node
// made one meanwhile, and returns the active key. Requests on this node
// take turns; inside the transaction the keys are listed again, so that
// nodes that race here mostly make one key. If two still do (PostgreSQL's
// read committed does not serialise them), every node picks the same
// active key, and RotateDue retires the other.
func (m *Manager) firstKey(ctx context.Context, team, alg string) (*key, error) {
	// The ring in hand may be one served stale while the store cannot
	// answer: read the keys again before deciding the team has none.
	// Concurrent callers share the read, and when it fails they all fail
	// at once, before queueing for makeMu.
	r, _, err := m.rings.Reload(team, m.loader(ctx, team))
	if err != nil {
		return nil, err
	}
	if k := r.active(alg, m.now()); k != nil {
		return k, nil
	}
	m.makeMu.Lock()
	defer m.makeMu.Unlock()
	now := m.now()
	if r, err = m.ring(ctx, team); err != nil {
		return nil, err
	}
	if k := r.active(alg, now); k != nil {
		return k, nil
	}
	priv, err := generate(alg)
	if err != nil {
		return nil, err
	}
	var made string
	err = m.store.Tx(ctx, func(q store.Queries) error {
		if err := q.LockTeam(ctx, team); err != nil {
			return err
		}
		made = ""
		keys, err := q.ListSigningKeys(ctx, team)
		if err != nil {
			return err
		}
		now := m.now().Truncate(time.Microsecond)
		if activeRecord(keys, alg, now) != nil {
			return nil
		}
		rec, err := m.successor(ctx, q, team, alg, priv, keys, now)
		made = rec.ID
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("make %s signing key for team %s: %w", alg, team, err)
	}
	if made != "" {
		m.log.Info("signing key created", "team", team, "kid", made, "alg", alg)
	}
	m.invalidateTeam(team)
	now = m.now()
	if r, err = m.ring(ctx, team); err != nil {
		return nil, err
	}
	k := r.active(alg, now)
	if k == nil {
		return nil, fmt.Errorf("team %s has no active %s signing key after making one", team, alg)
	}
	return k, nil
}

// activeRecord is ring.active on store records.
func activeRecord(keys []store.SigningKey, alg string, now time.Time) *store.SigningKey {
	var best *store.SigningKey
	for i, k := range keys {
		if k.Alg != alg || k.ActivateAt.After(now) || (k.RetiredAt != nil && !k.RetiredAt.After(now)) {
			continue
		}
		if best == nil || k.ActivateAt.After(best.ActivateAt) || (k.ActivateAt.Equal(best.ActivateAt) && k.ID > best.ID) {
			best = &keys[i]
		}
	}
	return best
}

// JWKS returns the team's JWK Set (RFC 7517 section 5) as JSON: the public
// part of every key not yet past its DeleteAfter, including keys not yet
// active. A team without keys has {"keys":[]}.
func (m *Manager) JWKS(ctx context.Context, team string) ([]byte, error) {
	now := m.now()
	r, err := m.ring(ctx, team)
	if err != nil {
		return nil, err
	}
	buf := []byte(`{"keys":[`)
	first := true
	for _, k := range r.keys {
		if !k.published(now) {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, k.jwk...)
	}
	return append(buf, "]}"...), nil
}

// Keys describes every key of the team the store holds, published or not,
// latest activation first.
func (m *Manager) Keys(ctx context.Context, team string) ([]KeyInfo, error) {
	r, err := m.ring(ctx, team)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.info()
	}
	return out, nil
}

// Invalidate drops what change c may have made stale: the keys of c.Team
// (every team when empty) when c.Kind is store.KindSigningKey or empty.
// Word of missed changes (change.Missed) only expires every ring: each is
// reloaded before it is used fresh, and served as it is while the store
// cannot answer. Subscribe it to the change hub; it is quick and never
// blocks on I/O.
func (m *Manager) Invalidate(c store.Change) {
	switch {
	case change.Missed(c):
		m.rings.Expire(func(string) bool { return true })
	case c.Kind != "" && c.Kind != store.KindSigningKey:
	case c.Team != "":
		m.rings.InvalidateKey(c.Team)
	default:
		m.rings.Invalidate(func(string) bool { return true })
	}
}

func (m *Manager) invalidateTeam(team string) {
	m.Invalidate(store.Change{Team: team, Kind: store.KindSigningKey})
}

// ring returns the team's keys, from the cache when fresh. Concurrent
// misses of one team share one load, so that a burst of requests after an
// invalidation reads the database once. While the store cannot answer, the
// ring the cache holds is served however old it is (stale-if-error): the
// node goes on signing, publishing and verifying with the keys it knows.
func (m *Manager) ring(ctx context.Context, team string) (*ring, error) {
	r, _, err := m.rings.Get(team, m.loader(ctx, team))
	return r, err
}

func (m *Manager) loader(ctx context.Context, team string) func() (*ring, bool, error) {
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	return func() (*ring, bool, error) {
		r, err := m.load(lctx, team)
		return r, err == nil, err
	}
}

// reload returns the team's keys read again, unless the cache already
// holds a newer ring than old, which the caller found wanting. A reload
// that fails is an error, never the ring held: the caller must not take
// "the store could not be read" for "the store has no such key".
func (m *Manager) reload(ctx context.Context, team string, old *ring) (*ring, error) {
	if r, err := m.ring(ctx, team); err != nil || r != old {
		return r, err
	}
	r, _, err := m.rings.Reload(team, m.loader(ctx, team))
	return r, err
}

// load reads the team's keys from the store, reusing the private keys its
// last load opened.
func (m *Manager) load(ctx context.Context, team string) (*ring, error) {
	recs, err := m.store.ListSigningKeys(ctx, team)
	if err != nil {
		return nil, fmt.Errorf("load signing keys of team %s: %w", team, err)
	}
	m.lastMu.Lock()
	old := m.last[team]
	m.lastMu.Unlock()
	prev := map[string]*key{}
	if old != nil {
		for _, k := range old.keys {
			prev[k.id] = k
		}
	}
	r := &ring{keys: make([]*key, 0, len(recs))}
	for _, rec := range recs {
		k, err := parseKey(m.mk, rec, prev[rec.ID])
		if err != nil {
			return nil, fmt.Errorf("load signing keys of team %s: %w", team, err)
		}
		if k.privErr != nil && (prev[rec.ID] == nil || prev[rec.ID].privErr == nil) {
			m.log.Error("signing key cannot sign on this node", "team", team, "kid", k.id, "err", k.privErr)
		}
		r.keys = append(r.keys, k)
	}
	slices.SortFunc(r.keys, byActivation)
	m.lastMu.Lock()
	m.last[team] = r
	m.lastMu.Unlock()
	return r, nil
}
