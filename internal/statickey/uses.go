package statickey

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/store"
)

// useLog keeps the last use of each key in memory until the flusher writes
// it: the request path only updates a map entry, and never waits for the
// store. While writes fail the latest use of each key waits here to be
// tried again; the map holds at most useLimit keys.
type useLog struct {
	mu sync.RWMutex
	m  map[cacheKey]*useState
	// dropped counts the uses not kept because the map was full: a
	// key's last-used time is advisory, a request must not wait for it.
	dropped atomic.Uint64
}

// useLimit bounds the keys whose last use waits to be written.
const useLimit = 100_000

type useState struct {
	written time.Time // when this node last wrote the key's use
	pending store.KeyUse
	has     bool // pending is not written yet
}

// useResolution is how close two uses from the same IP and user agent may
// be for the later not to replace the earlier: last-used times are kept to
// the second, so most requests only take a read lock.
const useResolution = time.Second

// record notes a use of key id of team.
func (l *useLog) record(team, id string, u Use) {
	k := cacheKey{team, id}
	l.mu.RLock()
	st, ok := l.m[k]
	skip := ok && st.has && u.At.Sub(st.pending.At) < useResolution && st.pending.IP == u.IP && st.pending.UserAgent == u.UserAgent
	l.mu.RUnlock()
	if skip {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[cacheKey]*useState{}
	}
	st = l.m[k]
	if st == nil {
		if len(l.m) >= useLimit {
			l.dropped.Add(1)
			return
		}
		st = &useState{}
		l.m[k] = st
	}
	if st.has && u.At.Before(st.pending.At) {
		return
	}
	st.pending = store.KeyUse{ID: id, At: u.At, IP: u.IP, UserAgent: u.UserAgent}
	st.has = true
}

// due takes the uses to write at now: every pending use whose key was not
// written within every (all of them with force), grouped by team. It forgets
// keys that have been idle for two periods.
func (l *useLog) due(now time.Time, every time.Duration, force bool) map[string][]store.KeyUse {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out map[string][]store.KeyUse
	for k, st := range l.m {
		if !st.has {
			if now.Sub(st.written) >= 2*every {
				delete(l.m, k)
			}
			continue
		}
		if !force && !st.written.IsZero() && now.Sub(st.written) < every {
			continue
		}
		if out == nil {
			out = map[string][]store.KeyUse{}
		}
		out[k.team] = append(out[k.team], st.pending)
		st.written, st.has = now, false
	}
	return out
}

// putBack returns uses that could not be written, unless a later use came
// in meanwhile; they are tried again once their key is due (UseInterval
// after the failed attempt), or at Flush.
func (l *useLog) putBack(team string, uses []store.KeyUse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range uses {
		if st := l.m[cacheKey{team, u.ID}]; st != nil && !st.has {
			st.pending, st.has = u, true
		}
	}
}

func (s *Service) useInterval() time.Duration {
	if s.UseInterval > 0 {
		return s.UseInterval
	}
	return time.Minute
}

// Run writes the keys' last uses that are due, every FlushInterval, until
// ctx ends. Call Flush after it returns, to write what is left.
func (s *Service) Run(ctx context.Context) {
	every := s.FlushInterval
	if every <= 0 {
		every = time.Second
	}
	lifecycle.Every(ctx, every, false, func(ctx context.Context) { s.write(ctx, false) })
}

// Flush writes every last use not yet written, due or not: on shutdown.
func (s *Service) Flush(ctx context.Context) error {
	return s.write(ctx, true)
}

// FlushDue writes the last uses that are due, as one tick of Run does.
func (s *Service) FlushDue(ctx context.Context) error {
	return s.write(ctx, false)
}

// write writes the due uses (every pending one with force), team by team.
// A use that could not be written is put back, to be tried again later.
// When the store cannot answer (store.ErrUnavailable) the round stops at
// the first team: the others are put back untried rather than each
// waiting for the store in turn. Failures are logged at most once per
// useLogEvery.
func (s *Service) write(ctx context.Context, force bool) error {
	var (
		firstErr error
		failed   int // uses put back
		down     bool
	)
	for team, uses := range s.uses.due(s.now(), s.useInterval(), force) {
		if !down {
			err := s.Store.RecordKeyUse(ctx, team, uses)
			if err == nil {
				continue
			}
			if firstErr == nil {
				firstErr = err
			}
			down = errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil
		}
		s.uses.putBack(team, uses)
		failed += len(uses)
	}
	dropped := s.uses.dropped.Swap(0)
	if (firstErr != nil || dropped > 0) && s.useLogDue() {
		s.log().Error("static key last uses could not be written; the latest use of each key is kept and tried again later",
			"put_back", failed, "dropped_while_full", dropped, "err", firstErr)
	}
	return firstErr
}

// useLogEvery is the least time between two log lines of the last-use
// writer's failures.
const useLogEvery = time.Minute

// useLogDue reports whether a failure of the last-use writer may be
// logged now, and if so notes that it is.
func (s *Service) useLogDue() bool {
	s.useLogMu.Lock()
	defer s.useLogMu.Unlock()
	now := s.now()
	if !s.useLogged.IsZero() && now.Sub(s.useLogged) < useLogEvery {
		return false
	}
	s.useLogged = now
	return true
}
