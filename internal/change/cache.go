package change

import (
	"sync"
	"time"
)

// Cache holds values loaded from the store until a change invalidates
// them. A load that overlaps an invalidation is returned but not kept, so
// a stale value can never outlive the change that made it stale.
type Cache[K comparable, V any] struct {
	mu      sync.RWMutex
	gen     uint64 // bumped by every invalidation
	entries map[K]cacheEntry[V]
	maxAge  time.Duration
	now     func() time.Time
	limit   int
}

type cacheEntry[V any] struct {
	v  V
	at time.Time
}

// NewCache returns a cache whose entries live until invalidated or, when
// maxAge > 0, for at most maxAge (a safety net, not the mechanism), holding
// at most limit entries (0: unbounded).
func NewCache[K comparable, V any](maxAge time.Duration, limit int) *Cache[K, V] {
	return &Cache[K, V]{entries: map[K]cacheEntry[V]{}, maxAge: maxAge, now: time.Now, limit: limit}
}

// Get returns the cached value for k, or loads, keeps and returns it.
func (c *Cache[K, V]) Get(k K, load func() (V, error)) (V, error) {
	c.mu.RLock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok && (c.maxAge <= 0 || c.now().Sub(e.at) < c.maxAge) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.limit > 0 && len(c.entries) >= c.limit {
			// Crude but bounded: start over rather than track recency.
			clear(c.entries)
		}
		c.entries[k] = cacheEntry[V]{v: v, at: c.now()}
	}
	c.mu.Unlock()
	return v, nil
}

// Invalidate drops every entry for which match is true.
func (c *Cache[K, V]) Invalidate(match func(K) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.entries {
		if match(k) {
			delete(c.entries, k)
		}
	}
}

// Len is the number of entries held.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
