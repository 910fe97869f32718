// Package outage is a store that stops answering when a test says so:
// Store wraps a store.Store, and while it is cut every call fails at once
// with an error wrapping store.ErrUnavailable, as a database that cannot be
// reached does once the store has classified the fault. It is a unit-level
// stand-in for a network cut (the connections themselves stay up); tests
// that cut the real connection use a TCP proxy instead.
package outage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Err is what every call of a cut Store returns.
var Err = fmt.Errorf("outage: the database is cut off: %w", store.ErrUnavailable)

// Store is a store.Store that fails every call while it is cut. Every
// method of store.Store is its own (a test calls them all), so a method
// added to the interface and not here fails that test rather than passing
// through unnoticed. It is safe for concurrent use.
type Store struct {
	store.Store

	mu      sync.Mutex
	cut     bool
	cutNow  chan struct{} // closed by the next Cut
	refused int           // calls failed while cut
}

// New returns inner behind a switch, on.
func New(inner store.Store) *Store { return &Store{Store: inner, cutNow: make(chan struct{})} }

// Cut makes every call fail from now on, and ends the running Watch calls
// with an error, as a lost connection would.
func (o *Store) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.cut {
		o.cut = true
		close(o.cutNow)
	}
}

// Restore lets calls through again.
func (o *Store) Restore() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		o.cut = false
		o.cutNow = make(chan struct{})
	}
}

// Refused returns how many calls failed because the store was cut.
func (o *Store) Refused() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refused
}

// down returns Err while the store is cut, and otherwise a channel that
// the next Cut closes.
func (o *Store) down() error {
	_, err := o.state()
	return err
}

func (o *Store) state() (<-chan struct{}, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		o.refused++
		return nil, Err
	}
	return o.cutNow, nil
}

// Tx fails while cut; a transaction under way when the store is cut runs
// to its end.
func (o *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.Tx(ctx, fn)
}

// Watch fails while cut, and a Watch under way ends with Err when the
// store is cut.
func (o *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	cutNow, err := o.state()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-cutNow:
			cancel()
		case <-ctx.Done():
		}
	}()
	err = o.Store.Watch(ctx, fn)
	select {
	case <-cutNow:
		return errors.Join(Err, err)
	default:
		return err
	}
}

// Purge fails while cut.
func (o *Store) Purge(ctx context.Context, kind store.PurgeKind, before time.Time, limit int) (int, error) {
	if err := o.down(); err != nil {
		return 0, err
	}
	return o.Store.Purge(ctx, kind, before, limit)
}

// Probe fails while cut.
func (o *Store) Probe(ctx context.Context) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.Probe(ctx)
}

// Ping fails while cut.
func (o *Store) Ping(ctx context.Context) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.Ping(ctx)
}

// Check fails while cut.
func (o *Store) Check(ctx context.Context) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.Check(ctx)
}

// Dialect is the inner store's, cut or not: it asks nothing of the
// database.
func (o *Store) Dialect() string { return o.Store.Dialect() }

// Close closes the inner store, cut or not.
func (o *Store) Close() error { return o.Store.Close() }
