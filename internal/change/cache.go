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

// DefaultStaleRetry is how long a cache whose Options name no StaleRetry
// serves a held entry after a failed reload before it tries the store
// again.
const DefaultStaleRetry = time.Second

// DefaultStaleWait is how long a Get of a held entry due for a reload
// waits for the reload (0 in Options: this) before it serves the entry
// as it is: a database that hangs costs a request this, not its timeout.
const DefaultStaleWait = 100 * time.Millisecond

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
	// StaleRetry is how long an entry served stale after a failed reload
	// is served again without a new attempt (0: DefaultStaleRetry), so
	// that while the store is down one Get per key and period waits for
	// it, not every Get.
	StaleRetry time.Duration
	// StaleWait bounds how long a Get of an entry the cache holds waits
	// for its reload (0: DefaultStaleWait), in real time. A reload still
	// running then is left to finish (and is kept if it succeeds), the
	// entry is served as it is, and it counts as a failed reload for
	// StaleRetry.
	StaleWait time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	// Label names the cache in Monitor's metric and log lines ("teams",
	// "clients", ...).
	Label string
	// Monitor counts and logs the entries served stale (nil: they are
	// served all the same, uncounted).
	Monitor *Monitor
}

// Cache holds records loaded from the store, and apart from them the keys
// found to have none, until a change invalidates them. It is the one cache
// shape of every hot path:
//
//   - concurrent Gets of one missing key share one load;
//   - errors are never kept;
//   - stale-if-error: when the reload of an entry it holds fails (past
//     MaxAge, or after Expire), the entry it holds is served instead, for
//     as long as reloads fail; a key it does not hold gets the error;
//   - a load that overlaps an invalidation (or a Modify, or an Expire) is
//     returned to its callers but not kept, so a stale value can never
//     outlive the change that made it stale;
//   - an invalidation drops what it covers, fallback included: a record
//     known to have changed is never served again; Expire only marks
//     what it covers as due for a reload;
//   - both sides are bounded, each evicting only its own entries;
//   - invalidation is by key (InvalidateKey) when the change names one,
//     by predicate (Invalidate) otherwise.
//
// It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	name                 func(K) string
	limit, absentLimit   int
	maxAge, absentMaxAge time.Duration
	staleRetry           time.Duration
	staleWait            time.Duration
	now                  func() time.Time
	stats                *cacheStats // nil: no Monitor

	flights singleflight.Group

	mu      sync.RWMutex
	gen     uint64 // bumped by every invalidation, Expire and Modify
	present map[K]entry[V]
	absent  map[K]entry[struct{}]
}

type entry[V any] struct {
	v  V
	at time.Time // when the load began
	// expired marks an entry that Expire made due for a reload; it is
	// still served if the reload fails.
	expired bool
	// failed is when its last reload failed (zero: none since it was
	// loaded).
	failed time.Time
}

// fresh reports whether e may be served without a reload at now.
func (e *entry[V]) fresh(maxAge time.Duration, now time.Time) bool {
	return !e.expired && (maxAge <= 0 || now.Sub(e.at) < maxAge)
}

// loaded is the result of one load, shared by the Gets that waited on it.
type loaded[V any] struct {
	v     V
	ok    bool
	stale bool // the load failed: v and ok are what the cache held
}

// New returns an empty cache. It panics if K is not a string and o.Name is
// nil: keys must have a name for their loads to be deduplicated.
func New[K comparable, V any](o Options[K]) *Cache[K, V] {
	c := &Cache[K, V]{name: o.Name, limit: o.Limit, absentLimit: max(o.AbsentLimit, 0),
		maxAge: o.MaxAge, absentMaxAge: o.AbsentMaxAge, staleRetry: o.StaleRetry, staleWait: o.StaleWait, now: o.Now,
		stats:   o.Monitor.cache(o.Label),
		present: map[K]entry[V]{}, absent: map[K]entry[struct{}]{}}
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
	if c.staleRetry <= 0 {
		c.staleRetry = DefaultStaleRetry
	}
	if c.staleWait <= 0 {
		c.staleWait = DefaultStaleWait
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
//
// When load fails and the cache holds an entry for k (a record or an
// absence past its age, or expired), Get returns that entry and no error:
// stale-if-error. For StaleRetry after such a failure the entry is served
// without calling load. A held entry's reload is waited for at most
// StaleWait; one that takes longer counts as failed. Only a key the cache
// does not hold gets load's error (and waits for load as long as it
// takes).
func (c *Cache[K, V]) Get(k K, load func() (V, bool, error)) (V, bool, error) {
	var now time.Time
	if c.maxAge > 0 || c.absentMaxAge > 0 {
		now = c.now()
	}
	c.mu.RLock()
	e, found := c.present[k]
	a, absent := c.absent[k]
	gen := c.gen
	c.mu.RUnlock()
	if found && e.fresh(c.maxAge, now) {
		return e.v, true, nil
	}
	var zero V
	if absent && a.fresh(c.absentMaxAge, now) {
		return zero, false, nil
	}
	// Held but due for a reload, whose last reload failed a moment ago:
	// served as it is, without waiting for the store again.
	failed := e.failed
	if absent {
		failed = a.failed
	}
	if !failed.IsZero() {
		if now.IsZero() {
			now = c.now()
		}
		if now.Sub(failed) < c.staleRetry {
			c.stats.served()
			return e.v, found, nil
		}
	}
	var l loaded[V]
	var err error
	if found || absent {
		l, err = c.loadWithin(k, gen, load)
	} else {
		l, err = c.load(k, gen, "g", load, true)
	}
	if err != nil {
		return zero, false, err
	}
	if l.stale {
		c.stats.served()
	}
	return l.v, l.ok, nil
}

// loadWithin is load for a key the cache holds: it waits for the load at
// most StaleWait, then answers with the held entry, marked as failed now
// so that the Gets that follow within StaleRetry do not wait again. The
// load goes on; its answer is kept if it succeeds.
func (c *Cache[K, V]) loadWithin(k K, gen uint64, load func() (V, bool, error)) (loaded[V], error) {
	ch := c.flights.DoChan(c.flightName(k, gen, "g"), c.flight(k, gen, load, true))
	t := time.NewTimer(c.staleWait)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.Err != nil {
			return loaded[V]{}, r.Err
		}
		return r.Val.(loaded[V]), nil
	case <-t.C:
	}
	if v, ok, held := c.held(k, c.now()); held {
		return loaded[V]{v: v, ok: ok, stale: true}, nil
	}
	// Dropped meanwhile: nothing to serve but the load's answer.
	r := <-ch
	if r.Err != nil {
		return loaded[V]{}, r.Err
	}
	return r.Val.(loaded[V]), nil
}

// Reload loads k at once, fresh or not, and keeps the answer as Get does.
// If load fails it returns the error, and the cache keeps what it held
// (which Get goes on serving). It is for a caller that found what Get
// returned wanting (a key id the ring lacks) and must know what the store
// holds now.
func (c *Cache[K, V]) Reload(k K, load func() (V, bool, error)) (V, bool, error) {
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	l, err := c.load(k, gen, "r", load, false)
	return l.v, l.ok, err
}

// load runs load once for the concurrent callers of one key, generation
// and kind (Get or Reload), keeps its answer unless the cache changed
// since gen, and, when it fails and fallback is true, answers with the
// entry the cache holds, if any.
func (c *Cache[K, V]) load(k K, gen uint64, kind string, load func() (V, bool, error), fallback bool) (loaded[V], error) {
	r, err, _ := c.flights.Do(c.flightName(k, gen, kind), c.flight(k, gen, load, fallback))
	if err != nil {
		return loaded[V]{}, err
	}
	return r.(loaded[V]), nil
}

// flightName names the load of k in generation gen by kind ("g" for Get,
// "r" for Reload). The generation is part of it: a Get that begins after
// an invalidation never joins a load that began before it.
func (c *Cache[K, V]) flightName(k K, gen uint64, kind string) string {
	return kind + strconv.FormatUint(gen, 36) + ":" + c.name(k)
}

// flight is the function one load runs.
func (c *Cache[K, V]) flight(k K, gen uint64, load func() (V, bool, error), fallback bool) func() (any, error) {
	return func() (any, error) {
		began := c.now()
		v, ok, err := load()
		if err != nil {
			if fallback {
				at := c.now()
				if v, ok, held := c.held(k, at); held {
					c.stats.failed(err, at)
					return loaded[V]{v: v, ok: ok, stale: true}, nil
				}
			}
			return nil, err
		}
		c.keep(k, gen, began, v, ok)
		return loaded[V]{v: v, ok: ok}, nil
	}
}

// held returns the entry the cache holds for k, noting that its reload
// failed at t; held is false when it holds none (never loaded, evicted,
// or dropped by an invalidation while the load ran).
func (c *Cache[K, V]) held(k K, t time.Time) (v V, ok, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, found := c.present[k]; found {
		e.failed = t
		c.present[k] = e
		return e.v, true, true
	}
	if a, found := c.absent[k]; found {
		a.failed = t
		c.absent[k] = a
		return v, false, true
	}
	return v, false, false
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
			evict(c.present)
		}
		c.present[k] = entry[V]{v: v, at: at}
		return
	}
	delete(c.present, k)
	if c.absentLimit == 0 {
		return
	}
	if _, had := c.absent[k]; !had && len(c.absent) >= c.absentLimit {
		evict(c.absent)
	}
	c.absent[k] = entry[struct{}]{at: at}
}

// evict drops the oldest of a random sample of m's entries.
func evict[K comparable, V any](m map[K]entry[V]) {
	var (
		victim K
		oldest time.Time
		n      int
	)
	for k, e := range m { // map iteration starts at a random entry
		if n == 0 || e.at.Before(oldest) {
			victim, oldest = k, e.at
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

// Expire marks every entry whose key match accepts as due for a reload,
// without dropping it: the next Get of it loads, and serves it still if
// that load fails. It is the answer to word that changes may have been
// missed (see Missed), where Invalidate is the answer to a change: what
// is only suspect stays the fallback while the store is down. An entry
// whose reload failed less than StaleRetry ago waits out the rest of it,
// so that repeated word (a watcher that keeps failing) does not make
// every Get try the store. Like an invalidation, it keeps no load that
// overlaps it.
func (c *Cache[K, V]) Expire(match func(K) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.present {
		if match(k) {
			e.expired = true
			c.present[k] = e
		}
	}
	for k, a := range c.absent {
		if match(k) {
			a.expired = true
			c.absent[k] = a
		}
	}
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
