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

// clock is a settable clock for the caches under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Unix(1_700_000_000, 0)} }
func present(v int) func() (int, bool, error) {
	return func() (int, bool, error) { return v, true, nil }
}

// db is a fake store that counts its loads.
type db struct {
	mu    sync.Mutex
	rows  map[string]int
	loads map[string]int
}

func newDB(rows map[string]int) *db { return &db{rows: rows, loads: map[string]int{}} }

func (d *db) load(k string) func() (int, bool, error) {
	return func() (int, bool, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.loads[k]++
		v, ok := d.rows[k]
		return v, ok, nil
	}
}

func (d *db) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.loads {
		n += l
	}
	return n
}

func TestCacheLoadsOnceAndInvalidates(t *testing.T) {
	c := New[string, int](Options[string]{})
	var loads atomic.Int32
	load := func() (int, bool, error) { return int(loads.Add(1)), true, nil }
	for range 3 {
		if v, ok, err := c.Get("k", load); err != nil || !ok || v != 1 {
			t.Fatalf("Get = %v, %v, %v; want 1", v, ok, err)
		}
	}
	c.Invalidate(func(k string) bool { return k == "other" })
	if v, _, _ := c.Get("k", load); v != 1 {
		t.Fatalf("unrelated invalidation dropped the entry")
	}
	c.Invalidate(func(k string) bool { return k == "k" })
	if v, _, _ := c.Get("k", load); v != 2 {
		t.Fatalf("after invalidation got %d, want a reload", v)
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	c := New[string, int](Options[string]{AbsentLimit: 10})
	boom := errors.New("boom")
	if _, _, err := c.Get("k", func() (int, bool, error) { return 0, false, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the load's error", err)
	}
	if p, a := c.Len(); p != 0 || a != 0 {
		t.Fatalf("an error was cached: %d present, %d absent", p, a)
	}
	if v, ok, err := c.Get("k", present(3)); v != 3 || !ok || err != nil {
		t.Fatalf("Get after an error = %v %v %v; want a fresh load", v, ok, err)
	}
}

// A load that races with an invalidation, or with a Modify, must be
// returned but not kept.
func TestCacheLoadRacingChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Cache[string, int])
	}{
		{"Invalidate", func(c *Cache[string, int]) { c.Invalidate(func(string) bool { return true }) }},
		{"InvalidateKey", func(c *Cache[string, int]) { c.InvalidateKey("k") }},
		{"InvalidateKey of another key", func(c *Cache[string, int]) { c.InvalidateKey("other") }},
		{"Modify", func(c *Cache[string, int]) { c.Modify("k", func(v int) int { return v + 1 }) }},
		{"Expire", func(c *Cache[string, int]) { c.Expire(func(string) bool { return true }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New[string, int](Options[string]{AbsentLimit: 10})
			for _, ok := range []bool{true, false} {
				v, gotOK, _ := c.Get("k", func() (int, bool, error) {
					tc.change(c) // the change lands mid-load
					return 1, ok, nil
				})
				if v != 1 || gotOK != ok {
					t.Fatalf("Get = %d %v, want the loaded 1 %v", v, gotOK, ok)
				}
				if p, a := c.Len(); p != 0 || a != 0 {
					t.Fatalf("a load across a change was kept (%d present, %d absent)", p, a)
				}
			}
		})
	}
}

func TestCacheMaxAge(t *testing.T) {
	clk := newClock()
	c := New[string, int](Options[string]{MaxAge: time.Minute, AbsentLimit: 10, AbsentMaxAge: 10 * time.Second, Now: clk.now})
	d := newDB(map[string]int{"a": 1})
	c.Get("a", d.load("a"))
	c.Get("x", d.load("x"))
	clk.advance(9 * time.Second)
	c.Get("a", d.load("a"))
	c.Get("x", d.load("x"))
	if d.total() != 2 {
		t.Fatalf("%d loads within both ages, want 2", d.total())
	}
	d.rows["x"] = 7
	clk.advance(2 * time.Second)
	if v, ok, _ := c.Get("x", d.load("x")); !ok || v != 7 {
		t.Fatalf("an absence outlived AbsentMaxAge: %v %v", v, ok)
	}
	clk.advance(50 * time.Second)
	c.Get("a", d.load("a"))
	if d.loads["a"] != 2 {
		t.Fatalf("a record older than MaxAge was served (%d loads)", d.loads["a"])
	}
}

func TestCacheNameRequired(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New without Name for a struct key did not panic")
		}
	}()
	New[struct{ a, b string }, int](Options[struct{ a, b string }]{})
}

// Concurrent Gets of one key share one load; of different keys, do not.
func TestCacheDeduplicatesLoads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		callers   int
		keys      int // callers spread over this many keys
		fail      bool
		wantLoads int
	}{
		{"one caller", 1, 1, false, 1},
		{"two callers", 2, 1, false, 1},
		{"fifty callers", 50, 1, false, 1},
		{"fifty callers, failing load", 50, 1, true, 1},
		{"fifty callers, five keys", 50, 5, false, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string, int](Options[string]{})
				var loads atomic.Int32
				release := make(chan struct{})
				boom := errors.New("boom")
				var wg sync.WaitGroup
				errs := make([]error, tc.callers)
				vals := make([]int, tc.callers)
				for i := range tc.callers {
					wg.Go(func() {
						k := i % tc.keys
						vals[i], _, errs[i] = c.Get(fmt.Sprint(k), func() (int, bool, error) {
							loads.Add(1)
							<-release // every caller arrives before the load ends
							if tc.fail {
								return 0, false, boom
							}
							return 100 + k, true, nil
						})
					})
				}
				synctest.Wait() // all callers are blocked: in a load or waiting on one
				close(release)
				wg.Wait()
				if got := int(loads.Load()); got != tc.wantLoads {
					t.Errorf("%d loads, want %d", got, tc.wantLoads)
				}
				for i := range tc.callers {
					switch {
					case tc.fail && !errors.Is(errs[i], boom):
						t.Errorf("caller %d: err %v, want the load's", i, errs[i])
					case !tc.fail && (errs[i] != nil || vals[i] != 100+i%tc.keys):
						t.Errorf("caller %d: %d, %v; want %d", i, vals[i], errs[i], 100+i%tc.keys)
					}
				}
			})
		})
	}
}

// A Get that begins after an invalidation never joins a load that began
// before it: it would be handed what the store held before the change.
func TestCacheGetAfterInvalidationLoadsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options[string]{})
		release := make(chan struct{})
		var old int
		go func() {
			old, _, _ = c.Get("k", func() (int, bool, error) { <-release; return 1, true, nil })
		}()
		synctest.Wait() // the first load is under way
		c.InvalidateKey("k")
		v, _, _ := c.Get("k", present(2))
		close(release)
		synctest.Wait()
		if v != 2 || old != 1 {
			t.Fatalf("Get after the invalidation = %d (first %d), want 2 from a load of its own", v, old)
		}
		if v, _, _ := c.Get("k", present(3)); v != 2 {
			t.Fatalf("cached %d, want 2: the load that overlapped the invalidation must not be kept", v)
		}
	})
}

// However many made-up keys are looked up, the records that exist stay.
func TestCacheAbsentFloodNeverEvictsPresent(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		limit, absentLimit   int
		records, flood       int
		wantAbsentAtMost     int
		wantFloodLoadsAtMost int
	}{
		{"flood far past the absent side", 10, 5, 10, 1000, 5, 1000},
		{"absent side as big as the flood", 10, 1000, 10, 1000, 1000, 1000},
		{"absences not kept", 10, 0, 10, 1000, 0, 1000},
		{"one record, big flood", 1, 100, 1, 100_000, 100, 100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := map[string]int{}
			for i := range tc.records {
				rows[fmt.Sprint("real", i)] = i
			}
			d := newDB(rows)
			c := New[string, int](Options[string]{Limit: tc.limit, AbsentLimit: tc.absentLimit})
			for k := range rows {
				c.Get(k, d.load(k))
			}
			for i := range tc.flood {
				k := fmt.Sprint("bogus", i)
				if _, ok, _ := c.Get(k, d.load(k)); ok {
					t.Fatalf("%s found", k)
				}
			}
			before := d.total()
			for k, want := range rows {
				if v, ok, _ := c.Get(k, d.load(k)); !ok || v != want {
					t.Fatalf("Get(%s) = %v %v", k, v, ok)
				}
			}
			if d.total() != before {
				t.Fatalf("%d records reloaded after the flood: it evicted them", d.total()-before)
			}
			if p, a := c.Len(); p != tc.records || a > tc.wantAbsentAtMost {
				t.Fatalf("holds %d present, %d absent; want %d, at most %d", p, a, tc.records, tc.wantAbsentAtMost)
			}
		})
	}
}

// The present side is bounded too, and a full side evicts from itself.
func TestCacheLimit(t *testing.T) {
	c := New[int, int](Options[int]{Name: func(k int) string { return fmt.Sprint(k) }, Limit: 3, AbsentLimit: 2})
	for i := range 10 {
		c.Get(i, present(i))
		c.Get(-1-i, func() (int, bool, error) { return 0, false, nil })
	}
	if p, a := c.Len(); p != 3 || a != 2 {
		t.Fatalf("holds %d present, %d absent; want 3 and 2", p, a)
	}
}

// InvalidateKey drops that key's entry, present or absent, and no other.
func TestCacheInvalidateKey(t *testing.T) {
	for _, tc := range []struct {
		name       string
		invalidate string
		reloaded   []string // of a, b, x (absent), y (absent)
	}{
		{"present key", "a", []string{"a"}},
		{"absent key", "x", []string{"x"}},
		{"unknown key", "zzz", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDB(map[string]int{"a": 1, "b": 2})
			c := New[string, int](Options[string]{AbsentLimit: 10})
			keys := []string{"a", "b", "x", "y"}
			for _, k := range keys {
				c.Get(k, d.load(k))
			}
			d.rows["a"], d.rows["x"] = 10, 20
			c.InvalidateKey(tc.invalidate)
			for _, k := range keys {
				c.Get(k, d.load(k))
			}
			for _, k := range keys {
				want := 1
				for _, r := range tc.reloaded {
					if r == k {
						want = 2
					}
				}
				if d.loads[k] != want {
					t.Errorf("%s loaded %d times, want %d", k, d.loads[k], want)
				}
			}
			if v, ok, _ := c.Get(tc.invalidate, d.load(tc.invalidate)); tc.invalidate != "zzz" && (!ok || v != d.rows[tc.invalidate]) {
				t.Errorf("after the invalidation %s = %v %v, want the new row", tc.invalidate, v, ok)
			}
		})
	}
}

func TestCacheModify(t *testing.T) {
	d := newDB(map[string]int{"a": 1})
	c := New[string, int](Options[string]{AbsentLimit: 10})
	c.Get("a", d.load("a"))
	c.Get("x", d.load("x"))
	c.Modify("a", func(v int) int { return v + 41 })
	c.Modify("x", func(v int) int { t.Fatal("Modify called f for an absent key"); return v })
	if v, ok, _ := c.Get("a", d.load("a")); !ok || v != 42 || d.loads["a"] != 1 {
		t.Fatalf("Get(a) = %v %v after %d loads; want 42 modified in place", v, ok, d.loads["a"])
	}
	if _, ok, _ := c.Get("x", d.load("x")); ok || d.loads["x"] != 1 {
		t.Fatal("Modify of an absent key changed its absence")
	}
}

// The former Lookup's scenario: present and absent answers both cached,
// a flood of absent keys, ages, invalidation, errors, a racing load.
func TestCacheLookup(t *testing.T) {
	clk := newClock()
	l := New[string, int](Options[string]{MaxAge: time.Hour, Limit: 100, AbsentMaxAge: time.Minute, AbsentLimit: 3, Now: clk.now})
	loads := 0
	db := map[string]int{"a": 1}
	load := func(k string) func() (int, bool, error) {
		return func() (int, bool, error) { loads++; v, ok := db[k]; return v, ok, nil }
	}
	for range 3 {
		if v, ok, err := l.Get("a", load("a")); v != 1 || !ok || err != nil {
			t.Fatalf("Get(a) = %v %v %v", v, ok, err)
		}
		if _, ok, _ := l.Get("x", load("x")); ok {
			t.Fatal("x found")
		}
	}
	if loads != 2 {
		t.Fatalf("%d loads, want 2: found and absent answers are both cached", loads)
	}
	for _, k := range []string{"g1", "g2", "g3", "g4", "g5"} {
		l.Get(k, load(k))
	}
	before := loads
	l.Get("a", load("a"))
	if loads != before {
		t.Fatal("a flood of absent ids evicted a found record")
	}
	db["x"] = 7
	clk.advance(2 * time.Minute)
	if v, ok, _ := l.Get("x", load("x")); !ok || v != 7 {
		t.Fatalf("absent answer outlived its age: %v %v", v, ok)
	}
	db["a"] = 2
	l.Invalidate(func(k string) bool { return k == "a" })
	if v, _, _ := l.Get("a", load("a")); v != 2 {
		t.Fatalf("invalidated record served: %v", v)
	}
	if _, _, err := l.Get("e", func() (int, bool, error) { return 0, false, errors.New("boom") }); err == nil {
		t.Fatal("want the load's error")
	}
	v, ok, _ := l.Get("r", func() (int, bool, error) {
		l.Invalidate(func(string) bool { return true })
		return 5, true, nil
	})
	if v != 5 || !ok {
		t.Fatal("racing load not returned")
	}
	if _, ok, _ := l.Get("r", func() (int, bool, error) { return 0, false, nil }); ok {
		t.Fatal("a load across an invalidation was kept")
	}
}

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

// A held entry whose reload hangs (a database that passes no byte) is
// served after StaleWait, not after the store's timeout; the Gets that
// follow do not wait again; the reload, once it succeeds, is kept.
func TestCacheStaleWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newClock()
		m := NewMonitor(nil)
		c := staleCache(clk, m)
		c.Get("a", present(1))
		clk.advance(time.Hour)
		release := make(chan struct{})
		loads := 0
		hang := func() (int, bool, error) { loads++; <-release; return 2, true, nil }
		start := time.Now() // synctest's clock
		if v, ok, err := c.Get("a", hang); v != 1 || !ok || err != nil {
			t.Fatalf("Get = %v %v %v, want the held record", v, ok, err)
		}
		if waited := time.Since(start); waited != DefaultStaleWait {
			t.Fatalf("Get waited %v for a hanging reload, want StaleWait (%v)", waited, DefaultStaleWait)
		}
		start = time.Now()
		if v, _, _ := c.Get("a", hang); v != 1 || time.Since(start) != 0 || loads != 1 {
			t.Fatalf("second Get = %d after %v with %d loads, want the held record at once and one load", v, time.Since(start), loads)
		}
		close(release)
		synctest.Wait()
		if v, _, _ := c.Get("a", hang); v != 2 || loads != 1 {
			t.Fatalf("Get after the slow reload = %d with %d loads, want its answer kept (2) and no new load", v, loads)
		}
		if got := m.StaleServed()["test"]; got != 2 {
			t.Fatalf("stale served %d, want 2", got)
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
