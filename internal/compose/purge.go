package compose

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The purge deletes expired records (codes, refresh tokens, denylist
// entries, grant cut-offs, client secrets past their grace, retired
// signing keys, old change records, failure counts whose window ended)
// and history past its retention (--audit-retention,
// --login-history-retention) in batches of at most PurgeBatch rows, each batch one short transaction of its own, with
// purgePause between two batches: the write lock is never held for long
// and request writes get in between.
const (
	PurgeBatch = 1000
	purgePause = 20 * time.Millisecond
	// MaxPurgeInterval is how often the purge runs when every retention is
	// long.
	MaxPurgeInterval = 10 * time.Minute
	minPurgeInterval = 5 * time.Second
	// purgeLogEvery bounds the purge's error lines while the database
	// fails: one a minute, with the number of failures since the last.
	purgeLogEvery = time.Minute
)

// PurgeInterval is how often the purge runs under cfg: every ten minutes,
// or a tenth of the shortest retention when that is sooner (at least every
// 5 s), so that no history outlives its retention by more than a tenth.
func PurgeInterval(cfg config.Config) time.Duration {
	d := MaxPurgeInterval
	for _, r := range []time.Duration{cfg.AuditRetention, cfg.LoginHistoryRetention} {
		if r > 0 {
			d = min(d, r/10)
		}
	}
	return max(d, minPurgeInterval)
}

// purgeState is the purge's memory between runs, for its rate-limited log.
type purgeState struct {
	lastLog time.Time
	failed  int // failures not logged yet
}

func (s *Services) runPurge(ctx context.Context) {
	var st purgeState
	lifecycle.Every(ctx, PurgeInterval(s.Config), false, func(ctx context.Context) {
		deleted, err := s.Purge(ctx)
		total := 0
		for _, n := range deleted {
			total += n
		}
		if total > 0 {
			args := []any{"total", total}
			for _, k := range store.PurgeKinds {
				if deleted[k] > 0 {
					args = append(args, string(k), deleted[k])
				}
			}
			s.Log.Info("purged expired records", args...)
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		if failures, ok := st.fail(s.Now()); ok {
			s.Log.Error("purge expired records", "err", err, "failures", failures)
		}
	})
}

// fail counts a failed run at now and tells whether to log it: the first
// failure at once, then at most one line a minute, which counts the
// failures since the last line.
func (st *purgeState) fail(now time.Time) (failures int, log bool) {
	st.failed++
	if !st.lastLog.IsZero() && now.Sub(st.lastLog) < purgeLogEvery {
		return 0, false
	}
	failures = st.failed
	st.lastLog, st.failed = now, 0
	return failures, true
}

// Purge deletes, batch by batch, everything that has expired by now and
// the history past its retention, and returns how many records of each
// kind it deleted. Each batch waits for the database at most
// --database-timeout; a kind whose batch fails is left for the next run
// and the others go on. The error joins the failures.
func (s *Services) Purge(ctx context.Context) (map[store.PurgeKind]int, error) {
	now := s.Now()
	deleted := map[store.PurgeKind]int{}
	var errs []error
	for _, kind := range store.PurgeKinds {
		before := now
		switch kind {
		case store.PurgeAuditEvents, store.PurgeLoginEvents:
			keep := s.Config.AuditRetention
			if kind == store.PurgeLoginEvents {
				keep = s.Config.LoginHistoryRetention
			}
			if keep <= 0 {
				continue // kept forever
			}
			before = now.Add(-keep)
		case store.PurgeChanges:
			before = now.Add(-store.ChangeLogRetention)
		}
		n, err := s.purgeKind(ctx, kind, before)
		deleted[kind] = n
		if err != nil {
			if ctx.Err() != nil {
				return deleted, ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return deleted, errors.Join(errs...)
}

// purgeKind deletes the records of kind from before `before`, a batch at a
// time, pausing between batches, until a batch is not full.
func (s *Services) purgeKind(ctx context.Context, kind store.PurgeKind, before time.Time) (int, error) {
	total := 0
	for {
		bctx, cancel := s.dbContext(ctx)
		n, err := s.Store.Purge(bctx, kind, before, PurgeBatch)
		cancel()
		total += n
		if err != nil || n < PurgeBatch {
			return total, err
		}
		t := time.NewTimer(purgePause)
		select {
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		case <-t.C:
		}
	}
}

// dbContext bounds one database call of a background component by
// --database-timeout.
func (s *Services) dbContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.Config.DatabaseTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.Config.DatabaseTimeout)
}
