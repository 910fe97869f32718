// Package change carries the store's change notifications to every cache
// of this process, so that a write by any process (the CLI, another node)
// reaches every running server within one second. The store delivers the changes (PostgreSQL LISTEN/NOTIFY, SQLite's
// change log); the Hub fans them out; Cache is the one cache shape every
// hot path uses.
package change

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Watcher is the part of store.Store that the hub needs.
type Watcher interface {
	Watch(ctx context.Context, fn func(store.Change)) error
}

// Hub fans changes out to subscribers.
type Hub struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(store.Change)
}

// NewHub returns a hub with no subscribers.
func NewHub() *Hub { return &Hub{subs: map[int]func(store.Change){}} }

// Subscribe calls fn for every change until the returned function is
// called. fn runs on the hub's goroutine and must be quick.
func (h *Hub) Subscribe(fn func(store.Change)) (unsubscribe func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	h.subs[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

// Publish delivers c to every subscriber.
func (h *Hub) Publish(c store.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, fn := range h.subs {
		fn(c)
	}
}

// Run feeds the hub from w until ctx ends. When watching fails it retries,
// and after every restart publishes Change{} since changes may have been
// missed meanwhile.
func (h *Hub) Run(ctx context.Context, w Watcher, log *slog.Logger) {
	for {
		err := w.Watch(ctx, h.Publish)
		if ctx.Err() != nil {
			return
		}
		log.Error("watching changes failed; caches are flushed and watching restarts", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		h.Publish(store.Change{})
	}
}

// Missed reports whether c is not a change but word that changes may have
// been missed: the Change{} that a watcher publishes when it listens again
// after losing its connection (and Hub.Run after a failed watch). A cache
// answers it with Cache.Expire, not Invalidate: every entry is reloaded
// before it is served fresh again, and while the store still cannot
// answer, what the cache held is served (stale-if-error). A change that
// names a team, a kind or a key is a real change and drops what it
// covers.
func Missed(c store.Change) bool { return c == store.Change{} }

// Covers reports whether change c may have touched the record (team, kind,
// key): empty fields of c are wildcards.
func Covers(c store.Change, team, kind, key string) bool {
	return (c.Team == "" || c.Team == team) &&
		(c.Kind == "" || c.Kind == kind) &&
		(c.Key == "" || c.Key == key)
}
