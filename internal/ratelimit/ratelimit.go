// Package ratelimit counts failures per key in fixed windows and blocks a
// key that exceeds its allowance until its window ends: brute-force
// protection for client authentication (peers' open wound: Keycloak #30077).
//
// A blocked attempt is refused before any secret is checked or any record
// read, so an attacker spends a round trip while the server spends a map
// lookup. Counts are per node: behind a load balancer of N nodes an
// attacker gets at most N times the allowance per window.
//
// The attempts a limit refuses are counted by Refusals and audited
// together, one event per key and window, so that a refused attempt
// writes nothing of its own.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows Limit failures per key per Window.
type Limiter struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	entries map[string]*window
	sweep   time.Time
}

type window struct {
	start    time.Time
	failures int
}

// maxEntries bounds the memory an attacker can make us spend on keys;
// windows that ended are swept when it is reached.
const maxEntries = 1 << 20

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Blocked reports whether key used up its allowance, and when to retry.
func (l *Limiter) Blocked(key string) (retryAfter time.Duration, blocked bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.entries[key]
	if w == nil || now.Sub(w.start) >= l.Window || w.failures < l.Limit {
		return 0, false
	}
	return w.start.Add(l.Window).Sub(now), true
}

// Fail counts a failure of key, and reports whether key is now blocked
// (true exactly once per window: when the allowance runs out).
func (l *Limiter) Fail(key string) (nowBlocked bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string]*window{}
	}
	w := l.entries[key]
	if w == nil || now.Sub(w.start) >= l.Window {
		if len(l.entries) >= maxEntries {
			l.sweepLocked(now)
		}
		w = &window{start: now}
		l.entries[key] = w
	}
	w.failures++
	return w.failures == l.Limit
}

func (l *Limiter) sweepLocked(now time.Time) {
	for k, w := range l.entries {
		if now.Sub(w.start) >= l.Window {
			delete(l.entries, k)
		}
	}
	if len(l.entries) >= maxEntries {
		clear(l.entries) // everything is live: forget rather than grow
	}
}
