// Package ratelimit holds the brute-force limits of sign-in and client
// authentication: an allowance of failures per key and window, spent by
// reserving a unit before anything is checked, and shared by every node
// through the database.
//
// An attempt first takes a unit of each of its allowances on this node
// (Limiter, a map lookup): concurrent attempts cannot all pass a check
// that only counts finished failures, so at most the allowance is ever
// checked at once. An attempt that only units under way stand in the way
// of waits for one of them to end (BusyWait at most), so that a burst of
// good attempts is served in turn; once failures use up the allowance,
// the rest are refused before any secret is checked or any record read. The unit is given back when the attempt
// succeeds, and kept when it fails. Budget adds the count that every node
// keeps in the database (Shared), so that N nodes behind a load balancer
// hold the limits of one.
//
// The attempts a limit refuses are counted by Refusals and audited
// together, one event per key and window, so that a refused attempt
// writes nothing of its own.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows Limit failures per key per Window on this node. A window
// starts with the first unit taken for its key. Every attempt takes a
// unit before it is checked (Take), and then either spends it (Fail) or
// gives it back (Refund): units taken and not yet given back count
// against the allowance, so concurrent attempts never exceed it.
type Limiter struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	entries map[string]*window
}

type window struct {
	start    time.Time
	failures int           // units spent in this window
	pending  int           // units taken and not yet spent or given back
	blocked  time.Time     // refused until then, whatever the counts (Block)
	freed    chan struct{} // closed when a unit under way ends; nil: nobody waits
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

// Take reserves one unit of key's allowance for an attempt about to be
// checked. ok is false when none is left (failures and attempts under way
// together reach Limit) or key is blocked, with how long to wait: until
// the window ends when the failures used the allowance up, a moment when
// attempts under way hold the rest.
func (l *Limiter) Take(key string) (retryAfter time.Duration, ok bool) {
	retryAfter, _, _, ok = l.take(key)
	return retryAfter, ok
}

// take is Take, also returning the units under way for key, this one
// included, and, when only units under way stand in the way, a channel
// that is closed when one of them is spent or given back.
func (l *Limiter) take(key string) (retryAfter time.Duration, pending int, freed <-chan struct{}, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key, now)
	if now.Before(w.blocked) {
		return w.blocked.Sub(now), w.pending, nil, false
	}
	if w.failures >= l.Limit {
		return w.start.Add(l.Window).Sub(now), w.pending, nil, false
	}
	if w.failures+w.pending >= l.Limit {
		if w.freed == nil {
			w.freed = make(chan struct{})
		}
		return busyRetry, w.pending, w.freed, false
	}
	w.pending++
	return 0, w.pending, nil, true
}

// release counts one unit under way less for w and wakes those waiting
// for it. Called with l.mu held.
func (w *window) release() {
	if w.pending > 0 {
		w.pending--
	}
	if w.freed != nil {
		close(w.freed)
		w.freed = nil
	}
}

// current returns key's window at now, starting a new one when there is
// none or it has ended. Units under way carry over into the new window:
// they are spent or given back there. Called with l.mu held.
func (l *Limiter) current(key string, now time.Time) *window {
	if l.entries == nil {
		l.entries = map[string]*window{}
	}
	w := l.entries[key]
	if w != nil && now.Sub(w.start) < l.Window {
		return w
	}
	nw := &window{start: now}
	if w != nil {
		nw.pending, nw.blocked, nw.freed = w.pending, w.blocked, w.freed
	} else if len(l.entries) >= maxEntries {
		l.sweepLocked(now)
	}
	l.entries[key] = nw
	return nw
}

// Fail spends a unit that Take reserved: the attempt failed. It reports
// whether key is now blocked (true exactly once per window: when its
// failures reach Limit).
func (l *Limiter) Fail(key string) (nowBlocked bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key, now)
	w.release()
	w.failures++
	return w.failures == l.Limit
}

// Refund gives back a unit that Take reserved: the attempt succeeded, or
// was never checked. A key with nothing left to remember is forgotten.
func (l *Limiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.entries[key]
	if w == nil {
		return
	}
	w.release()
	if w.pending == 0 && w.failures == 0 && w.blocked.IsZero() {
		delete(l.entries, key)
	}
}

// Block refuses key until until, whatever this node counted: another
// node's failures, read from the shared count, used up its allowance.
func (l *Limiter) Block(key string, until time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key, now)
	if until.After(w.blocked) {
		w.blocked = until
	}
}

func (l *Limiter) sweepLocked(now time.Time) {
	for k, w := range l.entries {
		if now.Sub(w.start) >= l.Window && w.pending == 0 && !now.Before(w.blocked) {
			delete(l.entries, k)
		}
	}
	if len(l.entries) >= maxEntries {
		clear(l.entries) // everything is live: forget rather than grow
	}
}
