package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/spool"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Appender is the part of the store the events are shipped to. It must
// store an event whose EventID it holds already (in the event's team) no
// second time.
type Appender interface {
	AppendAudit(ctx context.Context, events ...store.AuditEvent) error
}

// Options configure a Batcher.
type Options struct {
	// Dir is the spool's directory (config.Config.SpoolDir); MaxBytes its
	// cap (config.Config.AuditSpoolMaxBytes).
	Dir      string
	MaxBytes int64
	Store    Appender
	Log      *slog.Logger // nil: discard
	// Wait is the longest Add waits; 0: 100 ms.
	Wait time.Duration
	// Interval is how long Run lets events gather before it writes them,
	// unless Batch of them wait; 0: 200 ms. Batch 0: 500.
	Interval time.Duration
	Batch    int
	// Attempt bounds one write to the database; 0: 10 s. MaxBackoff caps
	// the pause between failed writes; 0: 2 s.
	Attempt    time.Duration
	MaxBackoff time.Duration
	// SegmentBytes is passed to the spool (0: its default).
	SegmentBytes int64
	Now          func() time.Time // nil: time.Now; for the log's rate
}

// Batcher is the audit trail: Add spools, Run ships.
type Batcher struct {
	spool      *spool.Spool
	store      Appender
	log        *slog.Logger
	interval   time.Duration
	batch      int
	attempt    time.Duration
	maxBackoff time.Duration
	now        func() time.Time

	// Run's (then Flush's) own.
	pos    spool.Position
	events []store.AuditEvent
	outage outage
}

// Open opens (or makes) the spool and returns the batcher on it; events
// that an earlier process spooled and did not ship go out when Run runs.
func Open(o Options) (*Batcher, error) {
	if o.Store == nil {
		return nil, errors.New("audit log: no store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Batcher{store: o.Store, log: o.Log, interval: o.Interval, batch: o.Batch, attempt: o.Attempt,
		maxBackoff: o.MaxBackoff, now: o.Now}
	if b.interval <= 0 {
		b.interval = 200 * time.Millisecond
	}
	if b.batch <= 0 {
		b.batch = 500
	}
	if b.attempt <= 0 {
		b.attempt = 10 * time.Second
	}
	if b.maxBackoff <= 0 {
		b.maxBackoff = 2 * time.Second
	}
	sp, err := spool.Open(spool.Options{Dir: o.Dir, MaxBytes: o.MaxBytes, SegmentBytes: o.SegmentBytes,
		Wait: o.Wait, Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	b.spool = sp
	b.pos = sp.Checkpoint()
	return b, nil
}

// bufs are the encoding buffers of Add: the spool copies the record.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Add makes e durable in the spool. An error wraps store.ErrUnavailable
// and says why (the spool is full, the disk refuses it, it was not durable
// within the wait); the caller must not act as if e were recorded.
func (b *Batcher) Add(e store.AuditEvent) error {
	buf := bufs.Get().(*[]byte)
	rec := encode((*buf)[:0], e)
	err := b.spool.Append(rec)
	*buf = rec[:0]
	bufs.Put(buf)
	if err != nil {
		return &unavailableError{fmt.Errorf("audit event %s: %w", e.Action, err)}
	}
	return nil
}

// unavailableError is a failed Add: it is a store.ErrUnavailable, so that
// handlers answer it as they answer a database that cannot take a write.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{e.err, store.ErrUnavailable} }

// Health is nil while Add works, or says why it fails: the spool holds
// its cap or its disk refuses writes. For readiness.
func (b *Batcher) Health() error {
	if err := b.spool.Health(); err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	return nil
}

// SpoolBytes is how much the spool holds on disk.
func (b *Batcher) SpoolBytes() int64 { return b.spool.Size() }

// SpoolStats are the spool's writes (each one fsync) and the events they
// made durable, since Open.
func (b *Batcher) SpoolStats() spool.Stats { return b.spool.Stats() }

// Run ships spooled events to the store, in order, until ctx ends: a batch
// when Batch events wait or Interval has passed since the last, retried
// until the store takes it. What is left when ctx ends waits for Flush or
// the next start.
func (b *Batcher) Run(ctx context.Context) {
	last := time.Now()
	for {
		recs, next, err := b.spool.Read(ctx, b.pos, b.batch)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, spool.ErrClosed) {
				b.log.Error("read the audit spool", "err", err)
				sleep(ctx, b.maxBackoff)
				continue
			}
			return
		}
		if len(recs) < b.batch {
			if wait := b.interval - time.Since(last); wait > 0 {
				if !sleep(ctx, wait) {
					return
				}
				if recs, next, err = b.spool.ReadNow(b.pos, b.batch); err != nil {
					continue
				}
			}
		}
		last = time.Now()
		if !b.ship(ctx, recs, next, true) {
			return
		}
	}
}

// ship writes recs to the store and commits next. With retry it tries
// until the store takes them or ctx ends, else once; it reports whether
// they were written.
func (b *Batcher) ship(ctx context.Context, recs []spool.Record, next spool.Position, retry bool) bool {
	b.events = b.events[:0]
	for _, r := range recs {
		e, err := decode(r.Data)
		if err != nil {
			// Not one this binary wrote: it cannot be stored, and keeping it
			// would stop every event after it.
			b.log.Error("audit spool record cannot be read; skipped", "key", r.Key, "err", err)
			continue
		}
		e.EventID = r.Key
		b.events = append(b.events, e)
	}
	backoff := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, b.attempt)
		err := b.store.AppendAudit(actx, b.events...)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil || !retry {
			return false
		}
		b.outage.failed(b.log, b.now(), err, b.spool.Size())
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, b.maxBackoff)
	}
	b.outage.ended(b.log, b.now())
	if err := b.spool.Commit(next); err != nil {
		// The events are in the database; a lost checkpoint only makes
		// them go again, and the event ids keep them single.
		b.log.Error("commit the audit spool", "err", err)
	}
	b.pos = next
	return true
}

// Flush is called once Run has returned. Every event an Add acknowledged
// is on disk already; Flush ships what it can within half of ctx's time
// (at most 5 s), one attempt per batch, and closes the spool. What the
// store does not take waits for the next start: Flush returns nil even
// when the database is away.
func (b *Batcher) Flush(ctx context.Context) error {
	budget := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(d)/2)
	}
	sctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	for sctx.Err() == nil {
		recs, next, err := b.spool.ReadNow(b.pos, b.batch)
		if err != nil || (len(recs) == 0 && next == b.pos) {
			break
		}
		if !b.ship(sctx, recs, next, false) {
			break
		}
	}
	if err := b.spool.Close(); err != nil {
		b.log.Error("close the audit spool", "err", err)
	}
	return nil
}

// outage keeps the log of failed writes to one line a minute.
type outage struct {
	since, logged time.Time
	attempts      int
}

func (o *outage) failed(log *slog.Logger, now time.Time, err error, spooled int64) {
	if o.since.IsZero() {
		o.since = now
	}
	o.attempts++
	if !o.logged.IsZero() && now.Sub(o.logged) < time.Minute {
		return
	}
	o.logged = now
	log.Error("audit events cannot be written to the database; they wait in the spool and are retried",
		"since", o.since, "attempts", o.attempts, "spool_bytes", spooled, "err", err)
}

func (o *outage) ended(log *slog.Logger, now time.Time) {
	if o.since.IsZero() {
		return
	}
	log.Info("audit events reach the database again", "after", now.Sub(o.since), "attempts", o.attempts)
	*o = outage{}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
