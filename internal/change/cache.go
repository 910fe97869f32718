package change

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultLimit bounds the present side of a cache whose Options name no
// limit.
const DefaultLimit = 100_000

// evictSample is how many entries a full side looks at to pick the one to
// drop: the oldest of a random sample, which approximates dropping the
// oldest entry without keeping an order.
const evictSample = 8

// Options configure a Cache. Zero fields take the defaults.
type Options[K comparable] struct {
	// Name writes a key as a string that no other key has, to tell
	// concurrent loads of one key apart from those of another
	// (singleflight groups by string). It is called on misses only.
	// Required unless K is a string.
	Name func(K) string
	// Limit bounds the records held (0: DefaultLimit). When it is reached
	// the oldest of a random sample goes.
	Limit int
	// MaxAge is how long a record is served without a reload (0: until
	// invalidated or evicted): a safety net for a change that never
	// arrives, not the mechanism.
	MaxAge time.Duration
	// AbsentLimit bounds the keys kept as known to have no record
	// (0: absences are not kept: every Get of a missing key loads). The
	// absent side is apart from the present one, so that a flood of
	// made-up keys (an attacker's guesses) fills it and never evicts a
	// record that exists.
	AbsentLimit int
	// AbsentMaxAge is how long an absence is believed (0: until
	// invalidated or evicted).
	AbsentMaxAge time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Cache holds records loaded from the store, and apart from them the keys
// found to have none, until a change invalidates them. It is the one cache
// shape of every hot path:
//
//   - concurrent Gets of one missing key share one load;
//   - errors are never kept;
//   - a load that overlaps an invalidation (or a Modify) is returned to
//     its callers but not kept, so a stale value can never outlive the
//     change that made it stale;
//   - both sides are bounded, each evicting only its own entries;
//   - invalidation is by key (InvalidateKey) when the change names one,
//     by predicate (Invalidate) otherwise.
//
// It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	name                 func(K) string
	limit, absentLimit   int
	maxAge, absentMaxAge time.Duration
	now                  func() time.Time

	flights singleflight.Group

	mu      sync.RWMutex
	gen     uint64 // bumped by every invalidation and Modify
	present map[K]entry[V]
	absent  map[K]time.Time // when the absence was loaded
}

type entry[V any] struct {
	v  V
	at time.Time // when the load began
}

// loaded is the result of one load, shared by the Gets that waited on it.
type loaded[V any] struct {
	v  V
	ok bool
}

// New returns an empty cache. It panics if K is not a string and o.Name is
// nil: keys must have a name for their loads to be deduplicated.
func New[K comparable, V any](o Options[K]) *Cache[K, V] {
	c := &Cache[K, V]{name: o.Name, limit: o.Limit, absentLimit: max(o.AbsentLimit, 0),
		maxAge: o.MaxAge, absentMaxAge: o.AbsentMaxAge, now: o.Now,
		present: map[K]entry[V]{}, absent: map[K]time.Time{}}
	if c.name == nil {
		var k K
		if _, ok := any(k).(string); !ok {
			panic("change.New: Options.Name is required for a key that is not a string")
		}
		c.name = func(k K) string { return any(k).(string) }
	}
	if c.limit <= 0 {
		c.limit = DefaultLimit
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Get returns the record for k and whether it exists: from the cache, or
// else from load, whose answer (a record, or ok false for none) it keeps
// unless load failed or an invalidation overlapped it. Concurrent Gets of
// k that miss share one call of load (the first caller's): the others
// receive its answer, or its error.
func (c *Cache[K, V]) Get(k K, load func() (V, bool, error)) (V, bool, error) {
	var now time.Time
	if c.maxAge > 0 || c.absentMaxAge > 0 {
		now = c.now()
	}
	c.mu.RLock()
	e, found := c.present[k]
	at, absent := c.absent[k]
	gen := c.gen
	c.mu.RUnlock()
	if found && (c.maxAge <= 0 || now.Sub(e.at) < c.maxAge) {
		return e.v, true, nil
	}
	var zero V
	if absent && (c.absentMaxAge <= 0 || now.Sub(at) < c.absentMaxAge) {
		return zero, false, nil
	}
	// The generation is part of the flight's name: a Get that begins
	// after an invalidation never joins a load that began before it.
	name := strconv.FormatUint(gen, 36) + ":" + c.name(k)
	r, err, _ := c.flights.Do(name, func() (any, error) {
		began := c.now()
		v, ok, err := load()
		if err != nil {
			return nil, err
		}
		c.keep(k, gen, began, v, ok)
		return loaded[V]{v, ok}, nil
	})
	if err != nil {
		return zero, false, err
	}
	l := r.(loaded[V])
	return l.v, l.ok, nil
}

// keep stores a load's answer unless the cache changed since gen.
func (c *Cache[K, V]) keep(k K, gen uint64, at time.Time, v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if ok {
		delete(c.absent, k)
		if _, had := c.present[k]; !had && len(c.present) >= c.limit {
			evict(c.present, func(e entry[V]) time.Time { return e.at })
		}
		c.present[k] = entry[V]{v: v, at: at}
		return
	}
	delete(c.present, k)
	if c.absentLimit == 0 {
		return
	}
	if _, had := c.absent[k]; !had && len(c.absent) >= c.absentLimit {
		evict(c.absent, func(t time.Time) time.Time { return t })
	}
	c.absent[k] = at
}

// evict drops the oldest of a random sample of m's entries.
func evict[K comparable, T any](m map[K]T, at func(T) time.Time) {
	var (
		victim K
		oldest time.Time
		n      int
	)
	for k, v := range m { // map iteration starts at a random entry
		if t := at(v); n == 0 || t.Before(oldest) {
			victim, oldest = k, t
		}
		if n++; n == evictSample {
			break
		}
	}
	if n > 0 {
		delete(m, victim)
	}
}

// Invalidate drops every entry, present or absent, whose key match accepts.
// It scans the cache: use InvalidateKey when the change names the key.
func (c *Cache[K, V]) Invalidate(match func(K) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.present {
		if match(k) {
			delete(c.present, k)
		}
	}
	for k := range c.absent {
		if match(k) {
			delete(c.absent, k)
		}
	}
}

// InvalidateKey drops the entry of k, present or absent.
func (c *Cache[K, V]) InvalidateKey(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.present, k)
	delete(c.absent, k)
}

// Modify replaces the record held for k, if any, with f of it: a change
// applied in place instead of a reload. f runs under the cache's lock and
// must be quick. Like an invalidation, it keeps no load that overlaps it,
// since such a load may have read the store before the change.
func (c *Cache[K, V]) Modify(k K, f func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.present[k]; ok {
		e.v = f(e.v)
		c.present[k] = e
	}
}

// Len returns the number of records and of absences held.
func (c *Cache[K, V]) Len() (present, absent int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.present), len(c.absent)
}
