// Package lifecycle runs a process's background components (batch
// writers, key rotation, change listeners, purges) under one rule: they
// start together, and on stop each is told to end, then each flushes what
// it still holds, all within one deadline. A component that overruns the
// deadline is named in the error instead of holding the process.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Component is one background part. Run works until its context ends; it
// may be nil. Flush, called once Run has returned, writes what the
// component still holds; it may be nil.
type Component struct {
	Name  string
	Run   func(ctx context.Context)
	Flush func(ctx context.Context) error
}

// Group is a set of components with one lifecycle. The zero value is
// ready; add every component before Start.
type Group struct {
	comps   []Component
	cancel  context.CancelFunc
	running []chan struct{} // closed when the component's Run returns
	started bool
}

// ErrStarted is returned by Add after Start: the set is fixed then.
var ErrStarted = errors.New("lifecycle: components are added before Start")

// Add adds components.
func (g *Group) Add(cs ...Component) error {
	if g.started {
		return ErrStarted
	}
	g.comps = append(g.comps, cs...)
	return nil
}

// Names lists the components in the order they were added.
func (g *Group) Names() []string {
	names := make([]string, len(g.comps))
	for i, c := range g.comps {
		names[i] = c.Name
	}
	return names
}

// Start runs every component's Run in its own goroutine. Their context
// is ctx without its cancellation: only Stop ends them, so that a signal
// which ends ctx does not cut a component off before the drain.
func (g *Group) Start(ctx context.Context) {
	if g.started {
		return
	}
	g.started = true
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.cancel = cancel
	g.running = make([]chan struct{}, len(g.comps))
	for i, c := range g.comps {
		done := make(chan struct{})
		g.running[i] = done
		if c.Run == nil {
			close(done)
			continue
		}
		go func() {
			defer close(done)
			c.Run(rctx)
		}()
	}
}

// Stop ends every component and flushes it, in the order they were added,
// within ctx: it tells every Run to end, waits for each, then calls each
// Flush. A component whose Run has not returned by ctx's deadline is not
// flushed (its state may still change) and is named in the error, as is
// every failed Flush. Stop without Start flushes only.
func (g *Group) Stop(ctx context.Context) error {
	if g.cancel != nil {
		g.cancel()
	}
	var errs []error
	ended := make([]bool, len(g.comps))
	for i, c := range g.comps {
		if !g.started {
			ended[i] = true
			continue
		}
		select {
		case <-g.running[i]:
			ended[i] = true
			continue
		default:
		}
		select {
		case <-g.running[i]:
			ended[i] = true
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%s did not stop: %w", c.Name, ctx.Err()))
		}
	}
	var wg sync.WaitGroup
	flushErrs := make([]error, len(g.comps))
	for i, c := range g.comps {
		if c.Flush == nil || !ended[i] {
			continue
		}
		wg.Go(func() {
			if err := c.Flush(ctx); err != nil {
				flushErrs[i] = fmt.Errorf("flush %s: %w", c.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, flushErrs...)...)
}

// Every calls fn every interval until ctx ends: the Run of a component
// that does periodic work. With now true it also calls fn once at the
// start. fn gets ctx and should return soon after ctx ends.
func Every(ctx context.Context, interval time.Duration, now bool, fn func(ctx context.Context)) {
	if now {
		fn(ctx)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}
