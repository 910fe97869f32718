package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/lifecycle"
)

func TestStartStopFlushes(t *testing.T) {
	var mu sync.Mutex // the runs end, and the flushes run, concurrently
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	var g lifecycle.Group
	for _, name := range []string{"audit", "keys"} {
		g.Add(lifecycle.Component{
			Name: name,
			Run: func(ctx context.Context) {
				<-ctx.Done()
				note("run-end")
			},
			Flush: func(context.Context) error { note("flush " + name); return nil },
		})
	}
	g.Add(lifecycle.Component{Name: "run-only", Run: func(ctx context.Context) { <-ctx.Done() }})
	g.Add(lifecycle.Component{Name: "flush-only", Flush: func(context.Context) error { return nil }})
	g.Start(context.Background())
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Every Run ended before any Flush ran.
	if got := strings.Join(order, ","); !strings.HasPrefix(got, "run-end,run-end,") ||
		!strings.Contains(got, "flush audit") || !strings.Contains(got, "flush keys") {
		t.Errorf("order = %s", got)
	}
	if got := strings.Join(g.Names(), " "); got != "audit keys run-only flush-only" {
		t.Errorf("Names = %s", got)
	}
}

// A cancelled parent context does not end the components: only Stop does.
func TestStartIgnoresParentCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ended atomic.Bool
		var g lifecycle.Group
		g.Add(lifecycle.Component{Name: "c", Run: func(ctx context.Context) { <-ctx.Done(); ended.Store(true) }})
		ctx, cancel := context.WithCancel(context.Background())
		g.Start(ctx)
		cancel()
		synctest.Wait()
		if ended.Load() {
			t.Fatal("the parent's cancellation ended a component")
		}
		if err := g.Stop(context.Background()); err != nil || !ended.Load() {
			t.Fatalf("Stop = %v, ended %v", err, ended.Load())
		}
	})
}

// Stop keeps its deadline whatever a component does, and names the ones
// that overran or failed.
func TestStopWithinDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var flushedStuck atomic.Bool
		var g lifecycle.Group
		g.Add(
			lifecycle.Component{Name: "stuck", Run: func(context.Context) { <-release },
				Flush: func(context.Context) error { flushedStuck.Store(true); return nil }},
			lifecycle.Component{Name: "slow-flush", Flush: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			lifecycle.Component{Name: "failing", Flush: func(context.Context) error { return errors.New("disk full") }},
		)
		g.Start(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := g.Stop(ctx)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Stop took %v, deadline 5s", took)
		}
		for _, want := range []string{"stuck did not stop", "flush slow-flush", "flush failing: disk full"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Stop = %v, want it to say %q", err, want)
			}
		}
		if flushedStuck.Load() {
			t.Error("a component still running was flushed")
		}
		close(release)
	})
}

func TestAddAfterStart(t *testing.T) {
	var g lifecycle.Group
	g.Start(context.Background())
	defer g.Stop(context.Background())
	if err := g.Add(lifecycle.Component{Name: "late"}); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("Add after Start = %v, want ErrStarted", err)
	}
}

func TestEvery(t *testing.T) {
	for _, now := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var n atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				lifecycle.Every(ctx, time.Minute, now, func(context.Context) { n.Add(1) })
			}()
			synctest.Wait()
			first := int32(0)
			if now {
				first = 1
			}
			if got := n.Load(); got != first {
				t.Errorf("now=%v: %d calls at the start, want %d", now, got, first)
			}
			<-time.After(3*time.Minute + time.Second) // fake time inside the bubble
			if got := n.Load(); got != first+3 {
				t.Errorf("now=%v: %d calls after 3 intervals, want %d", now, got, first+3)
			}
			cancel()
			<-done
		})
	}
}
