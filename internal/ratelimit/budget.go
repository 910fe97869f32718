package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Shared is the count of failures that every node keeps in the database
// (store.Store is one). The writes of one attempt to one Shared go in one
// transaction: all of them or none, for one commit.
type Shared interface {
	Failures(ctx context.Context, team, key string, at time.Time) (store.Failures, error)
	Tx(ctx context.Context, fn func(q store.Queries) error) error
}

// BudgetOptions configure a Budget.
type BudgetOptions struct {
	// Name keeps the budget's keys apart from every other budget's in the
	// shared count: "login.account", "login.ip", "client", "client.ip".
	Name string
	// Max failures are allowed per key within Window.
	Max    int
	Window time.Duration
	Now    func() time.Time // nil: time.Now
	// Shared counts the failures of every node; nil: this node's alone.
	Shared Shared
	// Reserve takes every attempt's unit in the shared count before the
	// attempt is checked, and gives it back when the attempt succeeds: no
	// two nodes can both take the last unit, so N nodes never check more
	// than Max between them, even all at once. It costs a transaction per
	// attempt (two for a success), which sign-in, which writes its login
	// history anyway and spends far more on Argon2id, affords. Without it
	// only failures are written, and each node reads the others' count
	// through a cache that their writes invalidate (within a second,
	// through the change feed): what the token endpoint, whose warm path
	// touches no database, needs.
	Reserve bool
	// Monitor counts the cache's stale answers (nil: uncounted).
	Monitor *change.Monitor
	// Log gets one line a minute at most while the shared count cannot
	// be read or written (nil: discard).
	Log *slog.Logger
}

// Budget is one limit: Max failures per key within Window, held by a
// Limiter on this node and, with a Shared count, across every node.
//
// While the shared count cannot answer, a reserving budget refuses the
// attempt with the store's error (the caller answers 503: sign-in needs
// the database anyway); a counting one goes by this node's count alone
// (the caller goes on serving, as the token endpoint does for the clients
// it knows), so that guessing stays limited per node.
type Budget struct {
	name    string
	max     int
	window  time.Duration
	now     func() time.Time
	local   *Limiter
	shared  Shared
	reserve bool
	counts  *change.Cache[Key, store.Failures] // the others' counts; counting budgets only
	log     *slog.Logger

	logMu    sync.Mutex
	loggedAt time.Time
	unlogged int
}

// Key names what a budget counts: an account, a client, an address. Team
// is "" for a key of the whole server (an address, whose attempts at every
// team count together).
type Key struct{ Team, Name string }

// Cache bounds of the others' counts. Keys found to have no failures
// (every client that authenticates well) are kept apart from those found
// to have some, so that a flood of made-up keys never evicts a count.
const (
	countsLimit  = 100_000
	countsMaxAge = 5 * time.Minute // a safety net: changes invalidate
	refusedPause = time.Second     // a reservation refused by the shared count is not asked again sooner
	busyRetry    = time.Second     // Retry-After of an attempt refused only because others are under way
)

// BusyWait is the longest Take waits for attempts under way to end before
// it refuses an attempt that only they stand in the way of.
const BusyWait = 250 * time.Millisecond

// NewBudget returns a budget.
func NewBudget(o BudgetOptions) *Budget {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	b := &Budget{name: o.Name, max: o.Max, window: o.Window, now: o.Now, shared: o.Shared, reserve: o.Reserve,
		local: &Limiter{Limit: o.Max, Window: o.Window, Now: o.Now}, log: o.Log}
	if o.Shared != nil && !o.Reserve {
		b.counts = change.New[Key, store.Failures](change.Options[Key]{
			Name:  func(k Key) string { return k.Team + "/" + k.Name },
			Limit: countsLimit, MaxAge: countsMaxAge,
			AbsentLimit: countsLimit, AbsentMaxAge: countsMaxAge,
			Now: o.Now, Label: "failures_" + strings.ReplaceAll(o.Name, ".", "_"), Monitor: o.Monitor,
		})
	}
	return b
}

// Window is the budget's window.
func (b *Budget) Window() time.Duration { return b.window }

// localKey is k in this node's Limiter: team names hold no '/'.
func (b *Budget) localKey(k Key) string { return k.Team + "/" + k.Name }

// sharedKey is k's key in the shared count.
func (b *Budget) sharedKey(k Key) string { return b.name + ":" + k.Name }

// Invalidate drops the others' counts that a change names; subscribe it to
// the change hub. A failure count's team is literal ("" is the server's
// keys), not a wildcard.
func (b *Budget) Invalidate(c store.Change) {
	if b.counts == nil {
		return
	}
	switch {
	case change.Missed(c):
		b.counts.Expire(func(Key) bool { return true })
	case c.Kind == store.KindFailures && c.Key != "":
		if name, ok := strings.CutPrefix(c.Key, b.name+":"); ok {
			b.counts.InvalidateKey(Key{c.Team, name})
		}
	case c.Kind == "":
		b.counts.Invalidate(func(k Key) bool { return c.Team == "" || c.Team == k.Team })
	}
}

// Ask is a budget and the key an attempt spends it on.
type Ask struct {
	Budget *Budget
	Key    Key
}

// Refused says which ask refused an attempt, and when to try again.
type Refused struct {
	Ask        Ask
	RetryAfter time.Duration
}

// Attempt holds one unit of each of its asks from Take until it ends: with
// Fail if it failed, with Refund if it succeeded or was never checked.
// Exactly one of them must be called, once, unless Take or Confirm refused
// it or failed (it has then ended). Not safe for concurrent use.
type Attempt struct {
	asks    []Ask
	pending []int       // this node's units under way per ask, at Take, this one included
	started []time.Time // per ask, the window of its shared reservation (zero: none)
	ended   bool
}

// Take takes one unit of every ask on this node, all or none, in order:
// the first ask that has none left refuses the attempt and the units
// already taken are given back. An ask whose allowance is held only by
// attempts under way (not by failures) is waited for, up to BusyWait or
// until ctx ends, since those attempts end within microseconds unless
// they wait for the database: a burst of good attempts is served in turn,
// not refused, while no more than the allowance is ever checked at once.
// It reads and writes nothing but memory.
func Take(ctx context.Context, asks ...Ask) (*Attempt, *Refused) {
	a := &Attempt{asks: asks, pending: make([]int, len(asks)), started: make([]time.Time, len(asks))}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		i, retry, freed := a.take()
		if i < 0 {
			return a, nil
		}
		if freed != nil {
			if timer == nil {
				timer = time.NewTimer(BusyWait)
			}
			select {
			case <-freed:
				continue
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		a.ended = true
		return a, &Refused{Ask: asks[i], RetryAfter: retry}
	}
}

// take takes a unit of every ask, or none: it returns the index of the
// ask that refused (-1: none did), with its Retry-After and, when only
// attempts under way refused it, the channel closed when one of them ends.
func (a *Attempt) take() (int, time.Duration, <-chan struct{}) {
	for i, q := range a.asks {
		retry, pending, freed, ok := q.Budget.local.take(q.Budget.localKey(q.Key))
		if !ok {
			for _, p := range a.asks[:i] {
				p.Budget.local.Refund(p.Budget.localKey(p.Key))
			}
			return i, retry, freed
		}
		a.pending[i] = pending
	}
	return -1, 0, nil
}

// Confirm checks the attempt against the count every node shares: a
// counting budget compares the others' failures and this node's attempts
// under way with its maximum; then the reserving budgets take their units
// there, in one transaction, all or none. When it refuses, or a reserving
// budget's count cannot answer (the error), the attempt's units are given
// back and the attempt has ended.
func (a *Attempt) Confirm(ctx context.Context) (*Refused, error) {
	for i, q := range a.asks {
		b := q.Budget
		if b.shared == nil || b.reserve {
			continue
		}
		now := b.now()
		f, found, err := b.counts.Get(q.Key, func() (store.Failures, bool, error) {
			f, err := b.shared.Failures(ctx, q.Key.Team, b.sharedKey(q.Key), now)
			if errors.Is(err, store.ErrNotFound) {
				return store.Failures{}, false, nil
			}
			return f, err == nil, err
		})
		if err != nil {
			b.unshared(err) // this node's count holds alone
			continue
		}
		if !found || !now.Before(f.ExpiresAt) {
			continue
		}
		if f.Count >= b.max {
			b.local.Block(b.localKey(q.Key), f.ExpiresAt)
			return &Refused{Ask: q, RetryAfter: f.ExpiresAt.Sub(now)}, a.giveBack(ctx)
		}
		if f.Count+a.pending[i] > b.max {
			return &Refused{Ask: q, RetryAfter: busyRetry}, a.giveBack(ctx)
		}
	}
	for _, g := range a.groups(func(b *Budget) bool { return b.reserve }) {
		refused, err := a.reserve(ctx, g)
		if refused != nil || err != nil {
			return refused, errors.Join(err, a.giveBack(ctx))
		}
	}
	return nil, nil
}

// errRefused rolls back a transaction of reservations that one refused.
var errRefused = errors.New("refused")

// reserve takes the units of the asks g (indexes into a.asks, one Shared)
// in their shared count, in one transaction.
func (a *Attempt) reserve(ctx context.Context, g []int) (*Refused, error) {
	var (
		refused *Refused
		started = make([]time.Time, len(g))
	)
	err := a.asks[g[0]].Budget.shared.Tx(ctx, func(tx store.Queries) error {
		for j, i := range g {
			q := a.asks[i]
			b := q.Budget
			now := b.now()
			f, added, err := tx.CountFailure(ctx, q.Key.Team, b.sharedKey(q.Key), now, b.window, b.max)
			if err != nil {
				return fmt.Errorf("%s budget: %w", b.name, err)
			}
			if !added {
				// The count may hold others' attempts under way as well as
				// failures: pause, rather than block for the window.
				b.local.Block(b.localKey(q.Key), now.Add(min(refusedPause, f.ExpiresAt.Sub(now))))
				refused = &Refused{Ask: q, RetryAfter: f.ExpiresAt.Sub(now)}
				return errRefused
			}
			started[j] = f.StartedAt
		}
		return nil
	})
	switch {
	case refused != nil:
		return refused, nil
	case err != nil:
		return nil, err
	}
	for j, i := range g {
		a.started[i] = started[j]
	}
	return nil, nil
}

// groups returns the indexes of the asks whose budgets have a shared count
// and match, grouped by shared count, in order.
func (a *Attempt) groups(match func(*Budget) bool) [][]int {
	var (
		out   [][]int
		index = map[Shared]int{}
	)
	for i, q := range a.asks {
		b := q.Budget
		if b.shared == nil || !match(b) {
			continue
		}
		j, ok := index[b.shared]
		if !ok {
			j = len(out)
			index[b.shared] = j
			out = append(out, nil)
		}
		out[j] = append(out[j], i)
	}
	return out
}

// Fail ends a failed attempt: its units stay spent, and the counting
// budgets add the failure to the shared count, in one transaction (the
// reserving ones took it there already). The failure is written even if
// ctx has ended: a caller who hangs up must not take the failure with it.
// Fail returns the asks whose allowance this failure used up, each once
// per window.
func (a *Attempt) Fail(ctx context.Context) (blocked []Ask) {
	if a.ended {
		return nil
	}
	a.ended = true
	ctx = context.WithoutCancel(ctx)
	nowBlocked := make([]bool, len(a.asks))
	for i, q := range a.asks {
		nowBlocked[i] = q.Budget.local.Fail(q.Budget.localKey(q.Key))
	}
	for _, g := range a.groups(func(b *Budget) bool { return !b.reserve }) {
		counted := make([]store.Failures, len(g))
		err := a.asks[g[0]].Budget.shared.Tx(ctx, func(tx store.Queries) error {
			for j, i := range g {
				q := a.asks[i]
				f, _, err := tx.CountFailure(ctx, q.Key.Team, q.Budget.sharedKey(q.Key), q.Budget.now(), q.Budget.window, 0)
				if err != nil {
					return err
				}
				counted[j] = f
			}
			return nil
		})
		for j, i := range g {
			q := a.asks[i]
			b := q.Budget
			if err != nil {
				b.unshared(err) // this node's count holds alone
				continue
			}
			f := counted[j]
			b.counts.InvalidateKey(q.Key)
			nowBlocked[i] = f.Count == b.max
			if f.Count >= b.max {
				b.local.Block(b.localKey(q.Key), f.ExpiresAt)
			}
		}
	}
	for i, q := range a.asks {
		if nowBlocked[i] {
			blocked = append(blocked, q)
		}
	}
	return blocked
}

// Refund ends an attempt that succeeded or was never checked: its units
// go back, here and in the shared count. An error means a reservation
// could not be given back in the shared count (it then counts as a
// failure until its window ends).
func (a *Attempt) Refund(ctx context.Context) error {
	if a.ended {
		return nil
	}
	return a.giveBack(ctx)
}

// giveBack returns every unit the attempt holds and ends it.
func (a *Attempt) giveBack(ctx context.Context) error {
	a.ended = true
	ctx = context.WithoutCancel(ctx)
	for _, q := range a.asks {
		q.Budget.local.Refund(q.Budget.localKey(q.Key))
	}
	var errs []error
	for _, g := range a.groups(func(b *Budget) bool { return b.reserve }) {
		var held []int
		for _, i := range g {
			if !a.started[i].IsZero() {
				held = append(held, i)
			}
		}
		if len(held) == 0 {
			continue
		}
		err := a.asks[held[0]].Budget.shared.Tx(ctx, func(tx store.Queries) error {
			for _, i := range held {
				q := a.asks[i]
				if err := tx.UncountFailure(ctx, q.Key.Team, q.Budget.sharedKey(q.Key), a.started[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("failure budgets: give back: %w", err))
			continue
		}
		for _, i := range held {
			a.started[i] = time.Time{}
		}
	}
	return errors.Join(errs...)
}

// unshared notes that the shared count could not answer, and logs it at
// most once a minute with the number of times since the last line.
func (b *Budget) unshared(err error) {
	now := time.Now()
	b.logMu.Lock()
	b.unlogged++
	if now.Sub(b.loggedAt) < time.Minute {
		b.logMu.Unlock()
		return
	}
	n := b.unlogged
	b.loggedAt, b.unlogged = now, 0
	b.logMu.Unlock()
	b.log.Warn("failure budget: the shared count cannot answer; this node's count holds alone",
		"budget", b.name, "times", n, "err", err)
}
