// Package auditlog batches audit events written on hot paths (token
// issuance, failed client authentication, static key use) off the request
// path: the request hands its event over and goes on; a writer appends
// batches to the store and writes what remains on shutdown. Handing over
// blocks when the writer is far behind, so events are slowed, never
// dropped.
package auditlog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Appender is the part of the store the batcher writes to.
type Appender interface {
	AppendAudit(ctx context.Context, events ...store.AuditEvent) error
}

// Batcher collects events and writes them in batches.
type Batcher struct {
	store    Appender
	log      *slog.Logger
	interval time.Duration
	maxBatch int
	limit    int // events waiting at which Add blocks

	mu      sync.Mutex
	pending []store.AuditEvent
	room    sync.Cond     // the writer took what was pending
	full    chan struct{} // a batch is waiting; never blocks Add
	done    chan struct{}
}

// New returns a batcher that writes at least every interval, or as soon as
// maxBatch events wait.
func New(st Appender, log *slog.Logger, interval time.Duration, maxBatch int) *Batcher {
	b := &Batcher{store: st, log: log, interval: interval, maxBatch: maxBatch, limit: 16 * maxBatch,
		full: make(chan struct{}, 1), done: make(chan struct{})}
	b.room.L = &b.mu
	return b
}

// Add hands an event over. It wakes the writer only when a batch is full,
// not for every event: a request pays for a lock and an append.
func (b *Batcher) Add(e store.AuditEvent) {
	b.mu.Lock()
	for len(b.pending) >= b.limit {
		b.room.Wait()
	}
	b.pending = append(b.pending, e)
	n := len(b.pending)
	b.mu.Unlock()
	if n == b.maxBatch {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
}

// take swaps the events waiting for the empty spare and lets blocked Adds
// go on.
func (b *Batcher) take(spare []store.AuditEvent) []store.AuditEvent {
	b.mu.Lock()
	taken := b.pending
	b.pending = spare[:0]
	b.room.Broadcast()
	b.mu.Unlock()
	return taken
}

// Run writes batches until ctx ends, then writes what is left.
func (b *Batcher) Run(ctx context.Context) {
	defer close(b.done)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	wctx := context.WithoutCancel(ctx)
	spare := make([]store.AuditEvent, 0, b.maxBatch)
	for {
		stop := false
		select {
		case <-b.full:
		case <-tick.C:
		case <-ctx.Done():
			stop = true
		}
		taken := b.take(spare)
		for len(taken) > 0 {
			n := min(len(taken), b.maxBatch)
			b.write(wctx, taken[:n])
			taken = taken[n:]
		}
		spare = taken[:0:cap(taken)]
		if stop {
			return
		}
	}
}

// Wait blocks until Run has written everything after its context ended.
func (b *Batcher) Wait(ctx context.Context) error {
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write appends batch, retrying a failed write a few times before it
// gives up and logs what it could not write.
func (b *Batcher) write(ctx context.Context, batch []store.AuditEvent) {
	var err error
	for attempt := range 5 {
		if err = b.store.AppendAudit(ctx, batch...); err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	b.log.Error("audit events could not be written", "count", len(batch), "err", err)
	for _, e := range batch {
		b.log.Error("unwritten audit event", "team", e.Team, "actor", e.Actor, "action", e.Action, "target", e.Target, "at", e.At)
	}
}
