package change

import (
	"sync"
	"time"
)

// Lookup caches records found in the store and, apart from them, the ids
// found to have none: a flood of made-up ids (an attacker's guesses) fills
// the bounded "absent" side and never evicts the records that exist. Like
// Cache, a load that overlaps an invalidation is returned but not kept.
type Lookup[K comparable, V any] struct {
	mu                      sync.RWMutex
	gen                     uint64
	found                   map[K]cacheEntry[V]
	absent                  map[K]time.Time
	now                     func() time.Time
	foundAge, absentAge     time.Duration
	foundLimit, absentLimit int
}

// NewLookup returns a lookup keeping found records for foundAge and absent
// ones for absentAge at most (safety nets: invalidation is the mechanism),
// each side bounded by its limit.
func NewLookup[K comparable, V any](foundAge time.Duration, foundLimit int, absentAge time.Duration, absentLimit int) *Lookup[K, V] {
	return &Lookup[K, V]{found: map[K]cacheEntry[V]{}, absent: map[K]time.Time{}, now: time.Now,
		foundAge: foundAge, foundLimit: foundLimit, absentAge: absentAge, absentLimit: absentLimit}
}

// Get returns the record for k and whether it exists, from the cache or
// else from load, whose answer it keeps.
func (l *Lookup[K, V]) Get(k K, load func() (V, bool, error)) (V, bool, error) {
	now := l.now()
	l.mu.RLock()
	e, found := l.found[k]
	at, absent := l.absent[k]
	gen := l.gen
	l.mu.RUnlock()
	if found && now.Sub(e.at) < l.foundAge {
		return e.v, true, nil
	}
	var zero V
	if absent && now.Sub(at) < l.absentAge {
		return zero, false, nil
	}
	v, ok, err := load()
	if err != nil {
		return zero, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen != gen {
		return v, ok, nil
	}
	if ok {
		if len(l.found) >= l.foundLimit {
			clear(l.found)
		}
		l.found[k] = cacheEntry[V]{v: v, at: now}
		delete(l.absent, k)
	} else {
		if len(l.absent) >= l.absentLimit {
			clear(l.absent)
		}
		l.absent[k] = now
		delete(l.found, k)
	}
	return v, ok, nil
}

// Invalidate drops every entry, found or absent, for which match is true.
func (l *Lookup[K, V]) Invalidate(match func(K) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	for k := range l.found {
		if match(k) {
			delete(l.found, k)
		}
	}
	for k := range l.absent {
		if match(k) {
			delete(l.absent, k)
		}
	}
}
