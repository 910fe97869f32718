// Package poll waits, in tests, for a condition that another goroutine or
// process makes true (a change arriving through the store's watcher, a
// batch written in the background): it checks the condition at a short
// interval until it holds or a deadline passes, so that a test waits only
// as long as the condition takes, never a fixed time.
package poll

import (
	"testing"
	"time"
)

// Interval is how often Until checks its condition.
const Interval = 5 * time.Millisecond

// Until checks cond at once and then every Interval until it holds or
// within has passed; it returns how long that took and whether cond held.
func Until(within time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	if cond() {
		return time.Since(start), true
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			// One last look: cond may have become true as the time ran out.
			return time.Since(start), cond()
		case <-tick.C:
			if cond() {
				return time.Since(start), true
			}
		}
	}
}

// Must is Until that fails tb, naming what it waited for, when cond does
// not hold within the time; it returns how long cond took.
func Must(tb testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	took, ok := Until(within, cond)
	if !ok {
		tb.Fatalf("timed out after %v waiting for %s", within, what)
	}
	return took
}
