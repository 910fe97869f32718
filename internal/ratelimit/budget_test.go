package ratelimit_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// sharedStore is a database that the budgets of several "nodes" share.
func sharedStore(t *testing.T) *outage.Store {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "g.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return outage.New(db)
}

var ann = ratelimit.Key{Team: "alpha", Name: "ann@example.com"}

// attempt takes and confirms one unit of each ask, and reports whether the
// attempt may be checked.
func attempt(t *testing.T, asks ...ratelimit.Ask) (*ratelimit.Attempt, *ratelimit.Refused) {
	t.Helper()
	a, r := ratelimit.Take(context.Background(), asks...)
	if r != nil {
		return nil, r
	}
	r, err := a.Confirm(context.Background())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if r != nil {
		return nil, r
	}
	return a, nil
}

// Two nodes of a reserving budget on one database check no more than Max
// attempts between them, however many come at once; a success gives its
// unit back on both.
func TestBudgetReserveAcrossNodes(t *testing.T) {
	st := sharedStore(t)
	clock := testclock.New(t0)
	node := func() *ratelimit.Budget {
		return ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "login.account", Max: 5, Window: 15 * time.Minute,
			Now: clock.Now, Shared: st, Reserve: true})
	}
	nodes := []*ratelimit.Budget{node(), node()}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		checked []*ratelimit.Attempt
	)
	for i := range 40 {
		wg.Go(func() {
			a, r := attempt(t, ratelimit.Ask{Budget: nodes[i%2], Key: ann})
			if r == nil {
				mu.Lock()
				checked = append(checked, a)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(checked) != 5 {
		t.Fatalf("%d of 40 attempts on two nodes were let through, want 5", len(checked))
	}
	// One succeeds: its unit is back, for either node.
	if err := checked[0].Refund(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second) // past the pause after a refusal
	a, r := attempt(t, ratelimit.Ask{Budget: nodes[1], Key: ann})
	if r != nil {
		t.Fatalf("after a success gave its unit back: refused %+v", r)
	}
	for _, a := range append(checked[1:], a) {
		a.Fail(context.Background())
	}
	for i, n := range nodes {
		_, r := attempt(t, ratelimit.Ask{Budget: n, Key: ann})
		if r == nil || r.RetryAfter <= 0 || r.RetryAfter > 15*time.Minute {
			t.Errorf("node %d after 5 failures: refused %+v, want a refusal until the window ends", i+1, r)
		}
	}
	f, err := st.Failures(context.Background(), "alpha", "login.account:ann@example.com", clock.Now())
	if err != nil || f.Count != 5 {
		t.Errorf("shared count %+v, %v; want 5", f, err)
	}
	// Another key is its own.
	if _, r := attempt(t, ratelimit.Ask{Budget: nodes[0], Key: ratelimit.Key{Team: "alpha", Name: "bob@example.com"}}); r != nil {
		t.Errorf("another account refused: %+v", r)
	}
	clock.Advance(15 * time.Minute)
	if _, r := attempt(t, ratelimit.Ask{Budget: nodes[0], Key: ann}); r != nil {
		t.Errorf("refused after the window: %+v", r)
	}
}

// A counting budget writes failures only; another node learns of them when
// the change feed drops its cached count, and refuses from then on.
func TestBudgetCountAcrossNodes(t *testing.T) {
	st := sharedStore(t)
	clock := testclock.New(t0)
	node := func() *ratelimit.Budget {
		return ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute,
			Now: clock.Now, Shared: st})
	}
	n1, n2 := node(), node()
	key := ratelimit.Key{Team: "alpha", Name: "c1"}

	// Node 2 sees the key without failures, and caches that.
	a, r := attempt(t, ratelimit.Ask{Budget: n2, Key: key})
	if r != nil {
		t.Fatalf("first attempt refused: %+v", r)
	}
	if err := a.Refund(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Node 1 fails three times; the third uses the allowance up.
	var changes []store.Change
	for i := range 3 {
		a, r := attempt(t, ratelimit.Ask{Budget: n1, Key: key})
		if r != nil {
			t.Fatalf("failure %d refused: %+v", i+1, r)
		}
		blocked := a.Fail(context.Background())
		if (len(blocked) == 1) != (i == 2) {
			t.Errorf("failure %d blocked %v", i+1, blocked)
		}
		changes = append(changes, store.Change{Team: "alpha", Kind: store.KindFailures, Key: "client:c1"})
	}
	// Until the change comes, node 2 goes by what it holds; the change
	// drops it, and node 2 refuses.
	for _, c := range changes {
		n2.Invalidate(c)
	}
	if _, r := attempt(t, ratelimit.Ask{Budget: n2, Key: key}); r == nil || r.RetryAfter != time.Minute {
		t.Fatalf("node 2 after node 1's 3 failures: %+v, want a refusal for 1m", r)
	}
	// Refused from memory from now on: the database is not asked.
	st.Cut()
	defer st.Restore()
	if _, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: n2, Key: key}); r == nil {
		t.Error("node 2 asks again after learning the key is blocked")
	}
	if st.Refused() != 0 {
		t.Errorf("%d store calls while the key was known blocked", st.Refused())
	}
}

// While the shared count cannot answer, a reserving budget refuses with
// the store's error and holds nothing; a counting one goes by this node's
// count.
func TestBudgetSharedUnavailable(t *testing.T) {
	st := sharedStore(t)
	clock := testclock.New(t0)
	reserving := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "login.account", Max: 2, Window: time.Minute,
		Now: clock.Now, Shared: st, Reserve: true})
	counting := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 2, Window: time.Minute,
		Now: clock.Now, Shared: st})
	st.Cut()

	for range 5 {
		a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: reserving, Key: ann})
		if r != nil {
			t.Fatalf("refused on this node: %+v", r)
		}
		if r, err := a.Confirm(context.Background()); r != nil || !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Confirm while cut: %+v, %v; want ErrUnavailable", r, err)
		}
	}

	key := ratelimit.Key{Team: "alpha", Name: "c1"}
	for i := range 2 {
		a, r := attempt(t, ratelimit.Ask{Budget: counting, Key: key})
		if r != nil {
			t.Fatalf("attempt %d refused while cut: %+v", i+1, r)
		}
		a.Fail(context.Background())
	}
	if _, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: counting, Key: key}); r == nil {
		t.Fatal("this node's count does not hold while the shared count is cut")
	}
}

// Take is all or none: when a later ask refuses, the units taken for the
// earlier ones go back.
func TestTakeAllOrNone(t *testing.T) {
	clock := testclock.New(t0)
	ip := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "ip", Max: 3, Window: time.Minute, Now: clock.Now})
	account := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "account", Max: 1, Window: time.Minute, Now: clock.Now})
	addr := ratelimit.Key{Name: "192.0.2.1"}
	a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: ip, Key: addr}, ratelimit.Ask{Budget: account, Key: ann})
	if r != nil {
		t.Fatal(r)
	}
	a.Fail(context.Background())
	for range 5 {
		_, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: ip, Key: addr}, ratelimit.Ask{Budget: account, Key: ann})
		if r == nil || r.Ask.Budget != account {
			t.Fatalf("refused by %+v, want the account", r)
		}
	}
	// The address spent one unit, not six.
	for i := range 2 {
		a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: ip, Key: addr})
		if r != nil {
			t.Fatalf("address attempt %d refused: %+v", i+1, r)
		}
		a.Fail(context.Background())
	}
	if _, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: ip, Key: addr}); r == nil {
		t.Fatal("the address kept units after 3 failures")
	}
}

// A caller that hangs up after its check does not take its failure with
// it.
func TestFailOutlivesTheRequest(t *testing.T) {
	st := sharedStore(t)
	b := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute,
		Now: testclock.New(t0).Now, Shared: st})
	ctx, cancel := context.WithCancel(context.Background())
	a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: b, Key: ann})
	if r != nil {
		t.Fatal(r)
	}
	if r, err := a.Confirm(ctx); r != nil || err != nil {
		t.Fatal(r, err)
	}
	cancel()
	a.Fail(ctx)
	f, err := st.Failures(context.Background(), "alpha", "client:ann@example.com", t0)
	if err != nil || f.Count != 1 {
		t.Fatalf("shared count after a failure whose request ended: %+v, %v; want 1", f, err)
	}
}

// Attempts refused only because others are under way wait for them
// (ratelimit.BusyWait at most), so that a burst of good attempts is served
// in turn; failures still refuse at once, and never more than the
// allowance is checked at once.
func TestTakeWaitsForAttemptsUnderWay(t *testing.T) {
	newBudget := func() *ratelimit.Budget {
		return ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute})
	}
	hold := func(t *testing.T, b *ratelimit.Budget, n int) []*ratelimit.Attempt {
		t.Helper()
		var as []*ratelimit.Attempt
		for range n {
			a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: b, Key: ann})
			if r != nil {
				t.Fatalf("unit %d refused: %+v", len(as)+1, r)
			}
			as = append(as, a)
		}
		return as
	}
	tests := []struct {
		name string
		// end ends the attempts under way, or not, while a fourth waits.
		end      func(ctx context.Context, held []*ratelimit.Attempt, cancel context.CancelFunc)
		refused  bool
		waitedAt time.Duration // how long the fourth Take took
	}{
		{"a unit given back after 10 ms", func(ctx context.Context, held []*ratelimit.Attempt, _ context.CancelFunc) {
			time.Sleep(10 * time.Millisecond)
			held[0].Refund(ctx)
		}, false, 10 * time.Millisecond},
		{"a unit spent by a failure frees nothing", func(ctx context.Context, held []*ratelimit.Attempt, _ context.CancelFunc) {
			time.Sleep(10 * time.Millisecond)
			held[0].Fail(ctx)
		}, true, ratelimit.BusyWait},
		{"a failure, then a unit given back", func(ctx context.Context, held []*ratelimit.Attempt, _ context.CancelFunc) {
			time.Sleep(10 * time.Millisecond)
			held[0].Fail(ctx)
			time.Sleep(10 * time.Millisecond)
			held[1].Refund(ctx)
		}, false, 20 * time.Millisecond},
		{"units held past the wait", func(context.Context, []*ratelimit.Attempt, context.CancelFunc) {}, true, ratelimit.BusyWait},
		{"the caller gives up after 5 ms", func(_ context.Context, _ []*ratelimit.Attempt, cancel context.CancelFunc) {
			time.Sleep(5 * time.Millisecond)
			cancel()
		}, true, 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBudget()
				held := hold(t, b, 3)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go tc.end(context.Background(), held, cancel)
				start := time.Now()
				a, r := ratelimit.Take(ctx, ratelimit.Ask{Budget: b, Key: ann})
				if took := time.Since(start); took != tc.waitedAt {
					t.Errorf("Take took %v, want %v", took, tc.waitedAt)
				}
				if (r != nil) != tc.refused {
					t.Fatalf("refused: %+v, want refused %v", r, tc.refused)
				}
				if r != nil && r.RetryAfter != time.Second {
					t.Errorf("Retry-After %v, want 1s", r.RetryAfter)
				}
				if r == nil {
					a.Refund(context.Background())
				}
			})
		})
	}

	t.Run("failures refuse at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBudget()
			for _, a := range hold(t, b, 3) {
				a.Fail(context.Background())
			}
			start := time.Now()
			if _, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: b, Key: ann}); r == nil || time.Since(start) != 0 {
				t.Fatalf("refused %+v after %v, want at once", r, time.Since(start))
			}
		})
	})

	t.Run("a burst is served in turn, never more than the allowance at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBudget()
			var (
				mu            sync.Mutex
				under, most   int
				refused, done int
				wg            sync.WaitGroup
			)
			for range 100 {
				wg.Go(func() {
					a, r := ratelimit.Take(context.Background(), ratelimit.Ask{Budget: b, Key: ann})
					mu.Lock()
					if r != nil {
						refused++
						mu.Unlock()
						return
					}
					under++
					most = max(most, under)
					mu.Unlock()
					time.Sleep(time.Millisecond) // the check
					mu.Lock()
					under--
					done++
					mu.Unlock()
					a.Refund(context.Background())
				})
			}
			wg.Wait()
			if refused != 0 || done != 100 || most > 3 {
				t.Fatalf("%d refused, %d served, at most %d at once; want 0, 100, 3", refused, done, most)
			}
		})
	})
}
