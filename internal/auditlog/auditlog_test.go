package auditlog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
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
	m := &memory{}
	b := New(m, slog.New(slog.DiscardHandler), time.Hour, 10)
	ctx, cancel := context.WithCancel(context.Background())
	go b.Run(ctx)
	for i := range 25 {
		b.Add(store.AuditEvent{Team: "t", Action: "x", Target: string(rune('a' + i))})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := m.count(); n >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // shutdown writes the rest
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
	m := &memory{}
	b := New(m, slog.New(slog.DiscardHandler), 10*time.Millisecond, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	b.Add(store.AuditEvent{Team: "t"})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := m.count(); n == 1 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("a lone event was not written on the interval")
}
