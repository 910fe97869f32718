// Package lifecycle runs a process's background components (batch
// writers, key rotation, change listeners, purges) under one rule: they
// start together, and on stop each is told to end, then each flushes what
// it still holds, all within one deadline, whatever the database does.
//
// The contract of a component:
//
//   - Run works until its context ends and then returns soon.
//   - Flush, called once Run has returned, writes what the component still
//     holds. It returns nil when everything the component acknowledged
//     (for example an audit event that a response depended on) is
//     durable: in the database, or kept durably elsewhere, such as a spool
//     file replayed on the next start. A Flush that could not reach the
//     database while the work is safe elsewhere returns nil. It returns an
//     error only when acknowledged work may be lost, and it gives up when
//     its context ends.
//   - A component whose work is acknowledged to no one (last-use times,
//     log lines) is BestEffort: its failures are reported, never as loss.
//
// Stop keeps its deadline: a component whose Run has not ended, or whose
// Flush has not returned, by then is abandoned (left running) and named in
// the result. The result says whether anything acknowledged may be lost
// (StopError.Lost); a process exits 0 when nothing is.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Component is one background part. Run works until its context ends; it
// may be nil. Flush, called once Run has returned, writes what the
// component still holds and reports whether what it acknowledged is
// durable (see the package documentation); it may be nil.
type Component struct {
	Name  string
	Run   func(ctx context.Context)
	Flush func(ctx context.Context) error
	// BestEffort says that what the component holds was acknowledged to
	// no one: if it is not flushed, nothing promised is lost.
	BestEffort bool
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

// Failure is a component that did not stop cleanly within the deadline.
type Failure struct {
	Component string
	// Err says what happened: its Run did not end, or its Flush failed or
	// did not return, in time.
	Err error
	// Lost is true when work the component acknowledged may be lost: it
	// is not BestEffort, holds something (has a Flush), and the Flush did
	// not report it durable.
	Lost bool
}

func (f Failure) Error() string {
	if f.Lost {
		return f.Component + ": " + f.Err.Error() + " (acknowledged work may be lost)"
	}
	return f.Component + ": " + f.Err.Error()
}

// StopError is what Stop returns when a component did not stop cleanly.
type StopError struct {
	Failures []Failure
}

func (e *StopError) Error() string {
	msgs := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// Lost tells whether work that a component acknowledged may be lost.
func (e *StopError) Lost() bool {
	for _, f := range e.Failures {
		if f.Lost {
			return true
		}
	}
	return false
}

// ErrAbandoned is the cause of a Failure whose Run or Flush was still
// going at the deadline, and was left so.
var ErrAbandoned = errors.New("abandoned at the deadline")

// Stop ends every component and flushes it within ctx: it tells every Run
// to end, waits for each for up to half of the time left, then calls every
// Flush at once. It returns by ctx's deadline whatever the components do:
// one whose Run has not returned is not flushed (its state may still
// change) and one whose Flush has not returned is left to it; both are
// abandoned. It returns
// nil, or a *StopError naming every component that was abandoned or whose
// Flush failed. Stop without Start flushes only.
func (g *Group) Stop(ctx context.Context) error {
	if g.cancel != nil {
		g.cancel()
	}
	// The Runs get half of the time to end, so that one that overruns
	// leaves the others' flushes the rest.
	runCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		defer cancel()
	}
	var failures []Failure
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
		case <-runCtx.Done():
			failures = append(failures, Failure{Component: c.Name, Lost: c.Flush != nil && !c.BestEffort,
				Err: fmt.Errorf("did not stop: %w", ErrAbandoned)})
		}
	}
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(g.comps)) // an abandoned Flush still has room to report
	flushErr := make([]error, len(g.comps))
	pending := 0
	for i, c := range g.comps {
		if c.Flush == nil || !ended[i] {
			continue
		}
		flushErr[i] = ErrAbandoned // until it reports
		if ctx.Err() != nil {
			continue // no time is left to flush in
		}
		pending++
		go func() { results <- result{i, c.Flush(ctx)} }()
	}
	for done := false; pending > 0 && !done; {
		select {
		case r := <-results:
			flushErr[r.i] = r.err
			pending--
		case <-ctx.Done():
			done = true
		}
	}
	for pending > 0 { // what reported as the deadline passed still counts
		select {
		case r := <-results:
			flushErr[r.i] = r.err
			pending--
			continue
		default:
		}
		break
	}
	for i, err := range flushErr { // in the order the components were added
		if err != nil {
			c := g.comps[i]
			failures = append(failures, Failure{Component: c.Name, Lost: !c.BestEffort, Err: fmt.Errorf("flush: %w", err)})
		}
	}
	if len(failures) == 0 {
		return nil
	}
	return &StopError{Failures: failures}
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
