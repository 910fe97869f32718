package ratelimit_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
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
	a, r := ratelimit.Take(asks...)
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
	if _, r := ratelimit.Take(ratelimit.Ask{Budget: n2, Key: key}); r == nil {
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
		a, r := ratelimit.Take(ratelimit.Ask{Budget: reserving, Key: ann})
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
	if _, r := ratelimit.Take(ratelimit.Ask{Budget: counting, Key: key}); r == nil {
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
	a, r := ratelimit.Take(ratelimit.Ask{Budget: ip, Key: addr}, ratelimit.Ask{Budget: account, Key: ann})
	if r != nil {
		t.Fatal(r)
	}
	a.Fail(context.Background())
	for range 5 {
		_, r := ratelimit.Take(ratelimit.Ask{Budget: ip, Key: addr}, ratelimit.Ask{Budget: account, Key: ann})
		if r == nil || r.Ask.Budget != account {
			t.Fatalf("refused by %+v, want the account", r)
		}
	}
	// The address spent one unit, not six.
	for i := range 2 {
		a, r := ratelimit.Take(ratelimit.Ask{Budget: ip, Key: addr})
		if r != nil {
			t.Fatalf("address attempt %d refused: %+v", i+1, r)
		}
		a.Fail(context.Background())
	}
	if _, r := ratelimit.Take(ratelimit.Ask{Budget: ip, Key: addr}); r == nil {
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
	a, r := ratelimit.Take(ratelimit.Ask{Budget: b, Key: ann})
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
