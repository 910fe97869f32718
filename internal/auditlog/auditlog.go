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
	ch       chan store.AuditEvent
	interval time.Duration
	maxBatch int
	done     chan struct{}
}

// New returns a batcher that writes at least every interval, or as soon as
// maxBatch events wait.
func New(st Appender, log *slog.Logger, interval time.Duration, maxBatch int) *Batcher {
	return &Batcher{store: st, log: log, ch: make(chan store.AuditEvent, 16*maxBatch),
		interval: interval, maxBatch: maxBatch, done: make(chan struct{})}
}

// Add hands an event over.
func (b *Batcher) Add(e store.AuditEvent) { b.ch <- e }

// Run writes batches until ctx ends, then writes what is left.
func (b *Batcher) Run(ctx context.Context) {
	defer close(b.done)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	batch := make([]store.AuditEvent, 0, b.maxBatch)
	for {
		select {
		case e := <-b.ch:
			batch = append(batch, e)
			if len(batch) >= b.maxBatch {
				batch = b.write(context.WithoutCancel(ctx), batch)
			}
		case <-tick.C:
			batch = b.write(context.WithoutCancel(ctx), batch)
		case <-ctx.Done():
			for {
				select {
				case e := <-b.ch:
					batch = append(batch, e)
				default:
					b.write(context.WithoutCancel(ctx), batch)
					return
				}
			}
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
func (b *Batcher) write(ctx context.Context, batch []store.AuditEvent) []store.AuditEvent {
	if len(batch) == 0 {
		return batch
	}
	var err error
	for attempt := range 5 {
		if err = b.store.AppendAudit(ctx, batch...); err == nil {
			return batch[:0]
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	b.log.Error("audit events could not be written", "count", len(batch), "err", err)
	for _, e := range batch {
		b.log.Error("unwritten audit event", "team", e.Team, "actor", e.Actor, "action", e.Action, "target", e.Target, "at", e.At)
	}
	return batch[:0]
}
