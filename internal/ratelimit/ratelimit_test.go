package ratelimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Limiter{Limit: 3, Window: time.Minute, Now: func() time.Time { return now }}
	for i := 1; i <= 3; i++ {
		if _, b := l.Blocked("k"); b {
			t.Fatalf("blocked before failure %d", i)
		}
		if got := l.Fail("k"); got != (i == 3) {
			t.Fatalf("Fail #%d reported nowBlocked=%v", i, got)
		}
	}
	retry, b := l.Blocked("k")
	if !b || retry != time.Minute {
		t.Fatalf("after 3 failures: blocked=%v retry=%v, want true 1m", b, retry)
	}
	if _, b := l.Blocked("other"); b {
		t.Fatal("another key is blocked")
	}
	now = now.Add(45 * time.Second)
	if retry, _ := l.Blocked("k"); retry != 15*time.Second {
		t.Fatalf("retry after %v, want 15s", retry)
	}
	now = now.Add(15 * time.Second)
	if _, b := l.Blocked("k"); b {
		t.Fatal("still blocked after the window")
	}
	if l.Fail("k") {
		t.Fatal("a new window starts over")
	}
}
