package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Limit: 3, Window: time.Minute, Now: func() time.Time { return now }}
	for i := 1; i <= 3; i++ {
		if _, ok := l.Take("k"); !ok {
			t.Fatalf("refused before failure %d", i)
		}
		if got := l.Fail("k"); got != (i == 3) {
			t.Fatalf("Fail #%d reported nowBlocked=%v", i, got)
		}
	}
	retry, ok := l.Take("k")
	if ok || retry != time.Minute {
		t.Fatalf("after 3 failures: ok=%v retry=%v, want false 1m", ok, retry)
	}
	if _, ok := l.Take("other"); !ok {
		t.Fatal("another key is refused")
	}
	now = now.Add(45 * time.Second)
	if retry, _ := l.Take("k"); retry != 15*time.Second {
		t.Fatalf("retry after %v, want 15s", retry)
	}
	now = now.Add(15 * time.Second)
	if _, ok := l.Take("k"); !ok {
		t.Fatal("still refused after the window")
	}
	if l.Fail("k") {
		t.Fatal("a new window starts over")
	}
}

// Units under way count against the allowance: of many attempts at once
// no more than Limit are let through, and a success gives its unit back.
func TestLimiterReserves(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Limit: 5, Window: time.Minute, Now: func() time.Time { return now }}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		passed int
	)
	for range 40 {
		wg.Go(func() {
			if _, ok := l.Take("k"); ok {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if passed != 5 {
		t.Fatalf("%d of 40 concurrent attempts passed, want 5", passed)
	}
	// Four succeed and give their unit back; one fails.
	for range 4 {
		l.Refund("k")
	}
	l.Fail("k")
	for i := range 4 {
		if _, ok := l.Take("k"); !ok {
			t.Fatalf("attempt %d after the refunds refused", i+1)
		}
	}
	if _, ok := l.Take("k"); ok {
		t.Fatal("a sixth unit: 1 failure and 4 under way make 5")
	}
	for range 4 {
		l.Refund("k")
	}
	// A key that only ever succeeded is forgotten.
	l.Take("gone")
	l.Refund("gone")
	if _, ok := l.entries["gone"]; ok {
		t.Error("a refunded key with no failures is still held")
	}
}

// Block refuses a key until a time, whatever this node counted.
func TestLimiterBlock(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Limit: 5, Window: time.Minute, Now: func() time.Time { return now }}
	l.Block("k", now.Add(90*time.Second))
	if retry, ok := l.Take("k"); ok || retry != 90*time.Second {
		t.Fatalf("blocked key: ok=%v retry=%v, want false 1m30s", ok, retry)
	}
	now = now.Add(61 * time.Second) // past the local window, not the block
	if retry, ok := l.Take("k"); ok || retry != 29*time.Second {
		t.Fatalf("blocked key after its window: ok=%v retry=%v, want false 29s", ok, retry)
	}
	now = now.Add(29 * time.Second)
	if _, ok := l.Take("k"); !ok {
		t.Fatal("refused after the block ended")
	}
}
