package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testFailures(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	const key = "account:ann@example.com"
	window := 15 * time.Minute
	count := func(t *testing.T, team, key string, now time.Time, max int, want store.Failures, wantAdded bool) {
		t.Helper()
		got, added, err := s.CountFailure(t.Context(), team, key, now, window, max)
		if !wantErr(t, fmt.Sprintf("CountFailure(%q, %s, max %d)", team, key, max), err, nil) {
			return
		}
		if added != wantAdded {
			t.Errorf("CountFailure(%q, %s, max %d) added = %v, want %v", team, key, max, added, wantAdded)
		}
		diff(t, "CountFailure("+key+")", want, got, opts)
	}
	read := func(t *testing.T, team, key string, now time.Time, want *store.Failures) {
		t.Helper()
		got, err := s.Failures(t.Context(), team, key, now)
		if want == nil {
			wantErr(t, "Failures("+key+")", err, store.ErrNotFound)
			return
		}
		if wantErr(t, "Failures("+key+")", err, nil) {
			diff(t, "Failures("+key+")", *want, got, opts)
		}
	}
	win := func(team, key string, n int, started time.Time) store.Failures {
		return store.Failures{Team: team, Key: key, Count: n, StartedAt: started, ExpiresAt: started.Add(window)}
	}

	t.Run("none", func(t *testing.T) {
		read(t, "alpha", key, t0, nil)
	})
	t.Run("count", func(t *testing.T) {
		// The first failure opens the window; the next ones add to it.
		count(t, "alpha", key, t0, 0, win("alpha", key, 1, t0), true)
		count(t, "alpha", key, at(time.Minute), 0, win("alpha", key, 2, t0), true)
		read(t, "alpha", key, at(2*time.Minute), ptr(win("alpha", key, 2, t0)))
	})
	t.Run("max", func(t *testing.T) {
		// With a maximum a count adds only below it, and reports the
		// window it found.
		count(t, "alpha", key, at(3*time.Minute), 3, win("alpha", key, 3, t0), true)
		count(t, "alpha", key, at(4*time.Minute), 3, win("alpha", key, 3, t0), false)
		read(t, "alpha", key, at(4*time.Minute), ptr(win("alpha", key, 3, t0)))
		// Without one it always adds.
		count(t, "alpha", key, at(5*time.Minute), 0, win("alpha", key, 4, t0), true)
	})
	t.Run("uncount", func(t *testing.T) {
		must(t, "UncountFailure", s.UncountFailure(t.Context(), "alpha", key, t0))
		read(t, "alpha", key, at(5*time.Minute), ptr(win("alpha", key, 3, t0)))
		// Another window's start takes back nothing.
		must(t, "UncountFailure(other window)", s.UncountFailure(t.Context(), "alpha", key, at(time.Second)))
		read(t, "alpha", key, at(5*time.Minute), ptr(win("alpha", key, 3, t0)))
		// Nor does a key without a window.
		must(t, "UncountFailure(no window)", s.UncountFailure(t.Context(), "alpha", "account:nobody", t0))
		read(t, "alpha", "account:nobody", t0, nil)
	})
	t.Run("notBelowZero", func(t *testing.T) {
		const k = "client:zero"
		count(t, "alpha", k, t0, 0, win("alpha", k, 1, t0), true)
		for range 3 {
			must(t, "UncountFailure", s.UncountFailure(t.Context(), "alpha", k, t0))
		}
		read(t, "alpha", k, t0, ptr(win("alpha", k, 0, t0)))
		count(t, "alpha", k, at(time.Second), 1, win("alpha", k, 1, t0), true)
	})
	t.Run("windowEnds", func(t *testing.T) {
		end := t0.Add(window)
		read(t, "alpha", key, end.Add(-time.Microsecond), ptr(win("alpha", key, 3, t0)))
		read(t, "alpha", key, end, nil)
		// A failure after the window opens a new one, even at a full count.
		count(t, "alpha", key, end, 3, win("alpha", key, 1, end), true)
		read(t, "alpha", key, end, ptr(win("alpha", key, 1, end)))
		// A reservation given back after its window ended takes nothing
		// from the new one.
		must(t, "UncountFailure(old window)", s.UncountFailure(t.Context(), "alpha", key, t0))
		read(t, "alpha", key, end, ptr(win("alpha", key, 1, end)))
	})
	t.Run("isolation", func(t *testing.T) {
		// The same key in another team, and of the whole server, counts
		// apart.
		read(t, "beta", key, at(time.Minute), nil)
		read(t, "", key, at(time.Minute), nil)
		count(t, "beta", key, at(time.Minute), 1, win("beta", key, 1, at(time.Minute)), true)
		count(t, "", key, at(time.Minute), 1, win("", key, 1, at(time.Minute)), true)
		must(t, "UncountFailure(beta)", s.UncountFailure(t.Context(), "beta", key, t0.Add(window)))
		read(t, "alpha", key, t0.Add(window), ptr(win("alpha", key, 1, t0.Add(window))))
		count(t, "beta", key, at(2*time.Minute), 1, win("beta", key, 1, at(time.Minute)), false)
	})
	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct {
			window time.Duration
			max    int
		}{{0, 1}, {-time.Second, 1}, {time.Minute, -1}} {
			_, _, err := s.CountFailure(t.Context(), "alpha", key, t0, tc.window, tc.max)
			wantErr(t, fmt.Sprintf("CountFailure(window %s, max %d)", tc.window, tc.max), err, store.ErrInvalid)
		}
	})
	t.Run("deleteTeam", func(t *testing.T) {
		must(t, "DeleteTeam(beta)", s.DeleteTeam(t.Context(), "beta"))
		read(t, "beta", key, at(2*time.Minute), nil)
		read(t, "", key, at(2*time.Minute), ptr(win("", key, 1, at(time.Minute))))
	})
	t.Run("purge", func(t *testing.T) {
		// alpha's first window ended at t0+15m and was replaced; the
		// server-wide one ends at t0+16m, alpha's second at t0+30m.
		if n := purgeAll(t, s, store.PurgeFailures, at(16*time.Minute+time.Second), 1); n != 2 {
			t.Errorf("Purge(failures before t0+16m1s) deleted %d, want 2 (alpha's client:zero, the server-wide key)", n)
		}
		read(t, "", key, at(2*time.Minute), nil)
		read(t, "alpha", key, t0.Add(window), ptr(win("alpha", key, 1, t0.Add(window))))
	})
}

// Reservations of many callers at once never pass the maximum: the
// database, not the callers, decides who takes the last unit.
func testFailuresConcurrent(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	const max = 5
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
	)
	for range 40 {
		wg.Go(func() {
			_, ok, err := s.CountFailure(t.Context(), "alpha", "account:ann@example.com", t0, time.Minute, max)
			if err != nil {
				t.Errorf("CountFailure: %v", err)
				return
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if added != max {
		t.Errorf("%d of 40 concurrent reservations added, want %d", added, max)
	}
	got, err := s.Failures(t.Context(), "alpha", "account:ann@example.com", t0)
	if wantErr(t, "Failures", err, nil) && got.Count != max {
		t.Errorf("count after 40 concurrent reservations = %d, want %d", got.Count, max)
	}
}
