package auditlog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

type memory struct {
	mu     sync.Mutex
	events []store.AuditEvent
	writes int
}

func (m *memory) AppendAudit(_ context.Context, es ...store.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, es...)
	m.writes++
	return nil
}

func (m *memory) count() (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events), m.writes
}

func TestBatcherWritesEverythingInBatches(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBatcherWritesEverythingInBatches)
}

func testBatcherWritesEverythingInBatches(t *testing.T) {
	m := &memory{}
	b := New(m, slog.New(slog.DiscardHandler), time.Hour, 10)
	ctx, cancel := context.WithCancel(context.Background())
	go b.Run(ctx)
	for i := range 25 {
		b.Add(store.AuditEvent{Team: "t", Action: "x", Target: string(rune('a' + i))})
	}
	synctest.Wait() // the full batches are written
	cancel()        // shutdown writes the rest
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, writes := m.count()
	if n != 25 {
		t.Fatalf("%d events written, want 25", n)
	}
	if writes > 3 {
		t.Fatalf("%d writes for 25 events in batches of 10", writes)
	}
}

func TestBatcherFlushesOnInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m := &memory{}
		b := New(m, slog.New(slog.DiscardHandler), 10*time.Millisecond, 100)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go b.Run(ctx)
		b.Add(store.AuditEvent{Team: "t"})
		synctest.Wait()
		if n, _ := m.count(); n != 0 {
			t.Fatalf("a lone event was written at once (%d), not on the interval", n)
		}
		<-time.After(10 * time.Millisecond) // the bubble's fake clock: no real wait
		synctest.Wait()
		if n, _ := m.count(); n != 1 {
			t.Fatal("a lone event was not written on the interval")
		}
	})
}
