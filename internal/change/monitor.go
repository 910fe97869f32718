package change

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// LogEvery is the least time between two log lines of one cache about
// serving stale entries.
const LogEvery = time.Minute

// Monitor watches the caches that share it for stale-if-error: it counts,
// per cache, the Gets answered from a held entry because its reload
// failed, and logs at most one line per LogEvery per cache while reloads
// fail. One Monitor serves every cache of a process (compose builds it;
// the server exports the counts as gatehouse_cache_stale_served_total).
// It is safe for concurrent use; a nil *Monitor counts and logs nothing.
type Monitor struct {
	log    *slog.Logger
	mu     sync.Mutex
	caches map[string]*cacheStats // by label
}

// NewMonitor returns a monitor that logs to log (nil: discard).
func NewMonitor(log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{log: log, caches: map[string]*cacheStats{}}
}

// StaleServed returns, per cache label, how many Gets were answered with
// a stale entry since the monitor was made. Every cache built with the
// monitor is listed, at 0 until it serves one.
func (m *Monitor) StaleServed() map[string]uint64 {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.caches))
	for label, s := range m.caches {
		out[label] = s.n.Load()
	}
	return out
}

// cache returns the counters of the caches labelled label (caches that
// share a label share them), or nil for a nil monitor.
func (m *Monitor) cache(label string) *cacheStats {
	if m == nil {
		return nil
	}
	if label == "" {
		label = "unlabelled"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.caches[label]
	if s == nil {
		s = &cacheStats{label: label, log: m.log}
		m.caches[label] = s
	}
	return s
}

// cacheStats are one cache's counters. Its methods do nothing on nil.
type cacheStats struct {
	label string
	log   *slog.Logger
	n     atomic.Uint64

	mu     sync.Mutex
	logged time.Time // when the last line was logged
}

// served counts a Get answered stale.
func (s *cacheStats) served() {
	if s != nil {
		s.n.Add(1)
	}
}

// failed notes a reload that failed at now while the cache held an entry
// to serve instead, and logs it unless a line was logged within LogEvery.
func (s *cacheStats) failed(err error, now time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	quiet := !s.logged.IsZero() && now.Sub(s.logged) < LogEvery
	if !quiet {
		s.logged = now
	}
	s.mu.Unlock()
	if quiet {
		return
	}
	s.log.Warn("the store cannot answer: serving what this cache holds (stale-if-error); at most one line a minute",
		"cache", s.label, "err", err, "stale_served_total", s.n.Load())
}
