package change

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// errDown is what a store that cannot answer returns.
var errDown = fmt.Errorf("read: %w", store.ErrUnavailable)

func failing() (int, bool, error) { return 0, false, errDown }

// staleCache is a cache with both ages, a monitor and the test's clock.
func staleCache(clk *clock, m *Monitor) *Cache[string, int] {
	return New[string, int](Options[string]{MaxAge: time.Minute, AbsentLimit: 10, AbsentMaxAge: 10 * time.Second,
		Now: clk.now, Label: "test", Monitor: m})
}

// A reload that fails serves what the cache holds, for as long as reloads
// fail; what it does not hold, or no longer holds because a change dropped
// it, gets the error.
func TestCacheStaleIfError(t *testing.T) {
	all := func(string) bool { return true }
	for _, tc := range []struct {
		name    string
		key     string // "a" has the record 1; "x" has none; "n" is never loaded
		between func(c *Cache[string, int], clk *clock)
		wantV   int
		wantOK  bool
		wantErr bool
	}{
		{"record past MaxAge", "a", func(_ *Cache[string, int], clk *clock) { clk.advance(2 * time.Minute) }, 1, true, false},
		{"record, a week of outage", "a", func(_ *Cache[string, int], clk *clock) { clk.advance(7 * 24 * time.Hour) }, 1, true, false},
		{"absence past AbsentMaxAge", "x", func(_ *Cache[string, int], clk *clock) { clk.advance(time.Minute) }, 0, false, false},
		{"record expired", "a", func(c *Cache[string, int], _ *clock) { c.Expire(all) }, 1, true, false},
		{"absence expired", "x", func(c *Cache[string, int], _ *clock) { c.Expire(all) }, 0, false, false},
		{"record expired and past MaxAge", "a", func(c *Cache[string, int], clk *clock) { c.Expire(all); clk.advance(time.Hour) }, 1, true, false},
		{"record modified, then past MaxAge", "a", func(c *Cache[string, int], clk *clock) {
			c.Modify("a", func(v int) int { return v + 1 })
			clk.advance(time.Hour)
		}, 2, true, false},
		{"record invalidated by key", "a", func(c *Cache[string, int], _ *clock) { c.InvalidateKey("a") }, 0, false, true},
		{"record invalidated by predicate", "a", func(c *Cache[string, int], _ *clock) { c.Invalidate(all) }, 0, false, true},
		{"absence invalidated", "x", func(c *Cache[string, int], _ *clock) { c.InvalidateKey("x") }, 0, false, true},
		{"record expired, then invalidated", "a", func(c *Cache[string, int], _ *clock) { c.Expire(all); c.InvalidateKey("a") }, 0, false, true},
		{"key never loaded", "n", func(*Cache[string, int], *clock) {}, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			m := NewMonitor(nil)
			c := staleCache(clk, m)
			d := newDB(map[string]int{"a": 1})
			c.Get("a", d.load("a"))
			c.Get("x", d.load("x"))
			tc.between(c, clk)
			loads := 0
			v, ok, err := c.Get(tc.key, func() (int, bool, error) { loads++; return failing() })
			if loads != 1 {
				t.Fatalf("%d loads, want 1: the entry was due", loads)
			}
			if tc.wantErr {
				if !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Get = %v %v %v, want the load's error", v, ok, err)
				}
			} else if err != nil || v != tc.wantV || ok != tc.wantOK {
				t.Fatalf("Get = %v %v %v, want the held %v %v", v, ok, err, tc.wantV, tc.wantOK)
			}
			wantServed := uint64(0)
			if !tc.wantErr {
				wantServed = 1
			}
			if got := m.StaleServed()["test"]; got != wantServed {
				t.Fatalf("stale served %d, want %d", got, wantServed)
			}
			// The outage ends: the next due Get loads and keeps the row.
			clk.advance(DefaultStaleRetry)
			d.rows["a"], d.rows["x"], d.rows["n"] = 10, 20, 30
			if v, ok, err := c.Get(tc.key, d.load(tc.key)); err != nil || !ok || v != d.rows[tc.key] {
				t.Fatalf("after the outage Get = %v %v %v, want the new row", v, ok, err)
			}
			before := d.total()
			c.Get(tc.key, d.load(tc.key))
			if d.total() != before {
				t.Fatal("the reloaded row was not kept")
			}
		})
	}
}

// While reloads fail, one Get per StaleRetry tries the store; the others
// are served at once. The outage may last any time.
func TestCacheStaleRetry(t *testing.T) {
	clk := newClock()
	m := NewMonitor(nil)
	c := staleCache(clk, m)
	c.Get("a", present(1))
	clk.advance(2 * time.Minute)
	attempts := 0
	down := func() (int, bool, error) { attempts++; return failing() }
	for step := range 100 { // 100 s of outage, a Get every 100 ms
		if v, ok, err := c.Get("a", down); v != 1 || !ok || err != nil {
			t.Fatalf("step %d: Get = %v %v %v, want the held record", step, v, ok, err)
		}
		clk.advance(DefaultStaleRetry / 10)
	}
	if attempts != 10 {
		t.Fatalf("%d reload attempts in 100 s, want one a second (10)", attempts)
	}
	if got := m.StaleServed()["test"]; got != 100 {
		t.Fatalf("stale served %d, want every Get (100)", got)
	}
	// Word of missed changes, however often, does not shorten the wait.
	attempts = 0
	for range 10 {
		c.Expire(func(string) bool { return true })
		c.Get("a", down)
		clk.advance(DefaultStaleRetry / 10)
	}
	if attempts != 1 {
		t.Fatalf("%d reload attempts in a second of repeated Expire, want 1", attempts)
	}
	// The store answers again: the next attempt reloads and keeps the row.
	clk.advance(DefaultStaleRetry)
	if v, _, _ := c.Get("a", present(2)); v != 2 {
		t.Fatalf("Get after the outage = %d, want a reload", v)
	}
	if v, _, _ := c.Get("a", down); v != 2 {
		t.Fatalf("the reloaded row was not kept: %d", v)
	}
}

// A reload that fails while a change drops the entry has nothing to
// serve: the change won.
func TestCacheStaleDroppedDuringReload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(c *Cache[string, int])
		wantErr bool
	}{
		{"InvalidateKey", func(c *Cache[string, int]) { c.InvalidateKey("a") }, true},
		{"Invalidate", func(c *Cache[string, int]) { c.Invalidate(func(string) bool { return true }) }, true},
		{"Expire", func(c *Cache[string, int]) { c.Expire(func(string) bool { return true }) }, false},
		{"InvalidateKey of another key", func(c *Cache[string, int]) { c.InvalidateKey("b") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			c := staleCache(clk, nil)
			c.Get("a", present(1))
			clk.advance(time.Hour)
			v, ok, err := c.Get("a", func() (int, bool, error) { tc.change(c); return failing() })
			if tc.wantErr != (err != nil) || (!tc.wantErr && (v != 1 || !ok)) {
				t.Fatalf("Get = %v %v %v, want error %v", v, ok, err, tc.wantErr)
			}
		})
	}
}

// Concurrent Gets of a due entry share one failing reload and are all
// served the held entry, each counted.
func TestCacheStaleShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newClock()
		m := NewMonitor(nil)
		c := staleCache(clk, m)
		c.Get("a", present(1))
		clk.advance(time.Hour)
		release := make(chan struct{})
		var loads atomic.Int32
		var wg sync.WaitGroup
		bad := make(chan string, 50)
		for range 50 {
			wg.Go(func() {
				v, ok, err := c.Get("a", func() (int, bool, error) { loads.Add(1); <-release; return failing() })
				if v != 1 || !ok || err != nil {
					bad <- fmt.Sprint(v, ok, err)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		close(bad)
		for b := range bad {
			t.Errorf("a caller got %s, want the held record", b)
		}
		if loads.Load() != 1 || m.StaleServed()["test"] != 50 {
			t.Fatalf("%d loads, %d served stale; want 1 and 50", loads.Load(), m.StaleServed()["test"])
		}
	})
}

// Reload loads whatever the cache holds, and reports a failure instead
// of serving the held entry; the held entry stays for Get.
func TestCacheReload(t *testing.T) {
	clk := newClock()
	c := staleCache(clk, nil)
	c.Get("a", present(1))
	if v, ok, err := c.Reload("a", present(2)); v != 2 || !ok || err != nil {
		t.Fatalf("Reload = %v %v %v, want the store's 2", v, ok, err)
	}
	if v, _, _ := c.Get("a", present(3)); v != 2 {
		t.Fatalf("Get after Reload = %v, want the reloaded 2 kept", v)
	}
	if _, _, err := c.Reload("a", failing); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("failing Reload: err %v, want the load's", err)
	}
	if v, ok, err := c.Get("a", failing); v != 2 || !ok || err != nil {
		t.Fatalf("Get after a failing Reload = %v %v %v, want the held 2", v, ok, err)
	}
}

// logCounter counts the records logged.
type logCounter struct {
	mu    sync.Mutex
	lines map[string]int // by cache
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCounter) WithGroup(string) slog.Handler            { return h }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "cache" {
			h.lines[a.Value.String()]++
		}
		return true
	})
	return nil
}

// While reloads fail, each cache logs at most one line a minute, however
// many Gets it serves stale.
func TestMonitorLogsOncePerMinute(t *testing.T) {
	h := &logCounter{lines: map[string]int{}}
	m := NewMonitor(slog.New(h))
	clk := newClock()
	teams := New[string, int](Options[string]{MaxAge: time.Second, Now: clk.now, Label: "teams", Monitor: m})
	clients := New[string, int](Options[string]{MaxAge: time.Second, Now: clk.now, Label: "clients", Monitor: m})
	New[string, int](Options[string]{Label: "idle", Monitor: m}) // never serves stale
	for _, c := range []*Cache[string, int]{teams, clients} {
		c.Get("a", present(1))
	}
	for range 150 { // 150 s of outage
		clk.advance(time.Second)
		for _, c := range []*Cache[string, int]{teams, clients} {
			for range 10 {
				if _, _, err := c.Get("a", failing); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if h.lines["teams"] != 3 || h.lines["clients"] != 3 {
		t.Fatalf("lines logged %v over 150 s, want 3 per cache (at 0, 60 and 120 s)", h.lines)
	}
	got := m.StaleServed()
	if got["teams"] != 1500 || got["clients"] != 1500 || got["idle"] != 0 || len(got) != 3 {
		t.Fatalf("StaleServed = %v, want 1500 for each failing cache and 0 for the idle one", got)
	}
	var none *Monitor
	if none.StaleServed() != nil {
		t.Fatal("a nil monitor counted")
	}
}
