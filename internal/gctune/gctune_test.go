package gctune_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/gctune"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		name           string
		live, headroom uint64
		max, want      int
	}{
		{"small heap gets the headroom", 4 * mib, 64 * mib, 1000, 1000},
		{"headroom within the cap", 16 * mib, 64 * mib, 1000, 400},
		{"heap as large as the headroom", 64 * mib, 64 * mib, 1000, 100},
		{"large heap as by default", 512 * mib, 64 * mib, 1000, 100},
		{"no live heap yet", 0, 64 * mib, 1000, 1000},
		{"a lower cap", 8 * mib, 64 * mib, 300, 300},
		{"rounds down", 3 * mib, 64 * mib, 5000, 2133},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gctune.Percent(c.live, c.headroom, c.max); got != c.want {
				t.Errorf("Percent(%d MiB, %d MiB, %d) = %d, want %d", c.live/mib, c.headroom/mib, c.max, got, c.want)
			}
		})
	}
}

// fake is the runtime as the tuner sees it.
type fake struct {
	mu   sync.Mutex
	live uint64
	gogc int
	sets []int
}

func (f *fake) Live() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live
}

func (f *fake) Set(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.gogc
	f.gogc = p
	f.sets = append(f.sets, p)
	return prev
}

func (f *fake) setLive(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = n
}

func (f *fake) state() (int, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gogc, append([]int(nil), f.sets...)
}

func TestAdjustFollowsTheLiveHeap(t *testing.T) {
	f := &fake{gogc: 100}
	tu := gctune.New(gctune.Options{Headroom: 64 * mib, Live: f.Live, Set: f.Set})
	for _, step := range []struct {
		live uint64
		want int
	}{
		{8 * mib, 800},
		{8*mib + 512<<10, 800}, // 752: within a tenth, left alone
		{10 * mib, 640},
		{200 * mib, 100},
		{2 * mib, 1000}, // capped at DefaultMax
	} {
		f.setLive(step.live)
		if got := tu.Adjust(); got != step.want {
			t.Errorf("live %d KiB: Adjust = %d, want %d", step.live>>10, got, step.want)
		}
		if gogc, _ := f.state(); gogc != step.want {
			t.Errorf("live %d KiB: GOGC %d, want %d", step.live>>10, gogc, step.want)
		}
	}
	if _, sets := f.state(); len(sets) != 4 {
		t.Errorf("GOGC set %v: want 4 changes (the second step is within a tenth)", sets)
	}
}

func TestRunAdjustsAndRestores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{gogc: 150, live: 16 * mib}
		tu := gctune.New(gctune.Options{Live: f.Live, Set: f.Set})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); tu.Run(ctx) }()
		synctest.Wait()
		if gogc, _ := f.state(); gogc != 400 {
			t.Fatalf("at start: GOGC %d, want 400", gogc)
		}
		f.setLive(32 * mib)
		<-time.After(gctune.Interval + time.Millisecond) // fake time in the bubble
		synctest.Wait()
		if gogc, _ := f.state(); gogc != 200 {
			t.Fatalf("after an interval: GOGC %d, want 200", gogc)
		}
		cancel()
		<-done
		if gogc, _ := f.state(); gogc != 150 {
			t.Errorf("after Run: GOGC %d, want the 150 in force before", gogc)
		}
	})
}

// TestRuntime runs the tuner against the real runtime: the live heap
// metric reads a heap, and the GOGC computed from it is the one in force.
func TestRuntime(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	runtime.GC()
	const uncapped = 1 << 30
	tu := gctune.New(gctune.Options{Max: uncapped})
	got := tu.Adjust()
	if got == uncapped {
		t.Fatal("the live heap metric read 0")
	}
	if got < 100 {
		t.Fatalf("Adjust = %d, below 100", got)
	}
	if now := debug.SetGCPercent(100); now != got {
		t.Errorf("GOGC in force %d, want %d", now, got)
	}
}
