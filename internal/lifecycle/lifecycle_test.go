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

// Stop keeps its deadline whatever a component does: one whose Run or
// Flush overruns is abandoned and named, and the result says whether
// acknowledged work may be lost.
func TestStopWithinDeadline(t *testing.T) {
	type comp = lifecycle.Component
	ok := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		// c is the component; hang blocks, ignoring its context, until
		// the case ends.
		c    func(hang func(context.Context)) comp
		want string // "": Stop returns nil
		lost bool
	}{
		{name: "clean", c: func(func(context.Context)) comp {
			return comp{Name: "c", Run: func(ctx context.Context) { <-ctx.Done() }, Flush: ok}
		}},
		{name: "run overruns, holding acknowledged work", c: func(hang func(context.Context)) comp {
			return comp{Name: "audit", Run: hang, Flush: ok}
		}, want: "audit: did not stop: abandoned at the deadline (acknowledged work may be lost)", lost: true},
		{name: "run overruns, holding nothing", c: func(hang func(context.Context)) comp {
			return comp{Name: "purge", Run: hang}
		}, want: "purge: did not stop: abandoned at the deadline"},
		{name: "run overruns, best effort", c: func(hang func(context.Context)) comp {
			return comp{Name: "last use", Run: hang, Flush: ok, BestEffort: true}
		}, want: "last use: did not stop: abandoned at the deadline"},
		{name: "flush ignores its deadline", c: func(hang func(context.Context)) comp {
			return comp{Name: "audit", Flush: func(ctx context.Context) error { hang(ctx); return nil }}
		}, want: "audit: flush: abandoned at the deadline (acknowledged work may be lost)", lost: true},
		{name: "flush gives up at its deadline", c: func(func(context.Context)) comp {
			return comp{Name: "audit", Flush: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
		}, want: "audit: flush: ", lost: true}, // "context deadline exceeded" or "abandoned", as the deadline passes
		{name: "flush fails", c: func(func(context.Context)) comp {
			return comp{Name: "audit", Flush: func(context.Context) error { return errors.New("disk full") }}
		}, want: "audit: flush: disk full (acknowledged work may be lost)", lost: true},
		{name: "best-effort flush fails", c: func(func(context.Context)) comp {
			return comp{Name: "last use", BestEffort: true, Flush: func(context.Context) error { return errors.New("database unavailable") }}
		}, want: "last use: flush: database unavailable"},
		// The database is away but the work is kept durably elsewhere (a
		// spool): the flush reports it durable, and that is a clean stop.
		{name: "flush durable elsewhere", c: func(func(context.Context)) comp {
			return comp{Name: "audit", Flush: func(ctx context.Context) error { return nil }}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				var g lifecycle.Group
				g.Add(tc.c(func(context.Context) { <-release }),
					comp{Name: "neighbour", Run: func(ctx context.Context) { <-ctx.Done() }, Flush: ok})
				g.Start(context.Background())
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				start := time.Now()
				err := g.Stop(ctx)
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("Stop took %v, deadline 5s", took)
				}
				if tc.want == "" {
					if err != nil {
						t.Fatalf("Stop = %v, want nil", err)
					}
					return
				}
				var se *lifecycle.StopError
				if !errors.As(err, &se) {
					t.Fatalf("Stop = %v, want a *StopError", err)
				}
				if got := err.Error(); got != tc.want && !(strings.HasSuffix(tc.want, " ") && strings.HasPrefix(got, tc.want)) {
					t.Errorf("Stop = %q, want %q", err, tc.want)
				}
				if se.Lost() != tc.lost {
					t.Errorf("Lost() = %v, want %v", se.Lost(), tc.lost)
				}
			})
		})
	}
}

// A component still running at the deadline is not flushed: its state
// may still change.
func TestStopDoesNotFlushARunningComponent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var flushed atomic.Bool
		var g lifecycle.Group
		g.Add(lifecycle.Component{Name: "stuck", Run: func(context.Context) { <-release },
			Flush: func(context.Context) error { flushed.Store(true); return nil }})
		g.Start(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Stop(ctx); err == nil {
			t.Fatal("Stop = nil with a component still running")
		}
		synctest.Wait()
		if flushed.Load() {
			t.Error("a component still running was flushed")
		}
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
