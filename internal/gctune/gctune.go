// Package gctune sizes the garbage collector's heap goal for a server
// whose live heap is small.
//
// Go's default, GOGC=100, lets the heap grow by its live size before the
// next collection. Gatehouse's live heap is a few MiB (caches and
// connections), and every request allocates a few KiB, so under load the
// default collects dozens of times a second: each cycle takes a share of
// the CPU from requests and stalls some of them (mark assists). The Tuner
// gives every cycle a fixed headroom instead, when that is more than the
// live heap: it sets GOGC so that the heap may grow by max(live,
// Headroom) between collections, never below GOGC=100 and never above
// Max. A large live heap is collected as with the default.
//
// The operator's choice wins: the server runs a Tuner only when the GOGC
// environment variable is unset, and GOMEMLIMIT, when set, still bounds
// the heap whatever GOGC says (the runtime enforces it).
package gctune

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/gatehouse/gatehouse/internal/lifecycle"
)

// DefaultHeadroom is the heap growth allowed between collections when
// the live heap is smaller.
const DefaultHeadroom = 64 << 20

// DefaultMax is the largest GOGC a Tuner sets: when the live heap grows
// suddenly, the heap may briefly reach 1+Max/100 times the live heap
// until the next adjustment.
const DefaultMax = 1000

// Interval is how often Run adjusts GOGC.
const Interval = time.Second

const liveMetric = "/gc/heap/live:bytes"

// Tuner adjusts GOGC to the live heap.
type Tuner struct {
	headroom uint64
	max      int
	log      *slog.Logger
	live     func() uint64 // the live heap as of the last collection
	set      func(int) int // debug.SetGCPercent
	cur      int           // the GOGC last set; 0 before the first
}

// Options are a Tuner's settings; the zero value takes the defaults.
type Options struct {
	Headroom uint64 // 0: DefaultHeadroom
	Max      int    // 0: DefaultMax; at least 100
	Log      *slog.Logger
	// Live and Set replace the runtime's live heap metric and
	// debug.SetGCPercent (tests).
	Live func() uint64
	Set  func(int) int
}

// New returns a Tuner; it changes nothing until Adjust or Run.
func New(o Options) *Tuner {
	t := &Tuner{headroom: o.Headroom, max: o.Max, log: o.Log, live: o.Live, set: o.Set}
	if t.headroom == 0 {
		t.headroom = DefaultHeadroom
	}
	if t.max == 0 {
		t.max = DefaultMax
	}
	t.max = max(t.max, 100)
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.live == nil {
		t.live = liveHeap
	}
	if t.set == nil {
		t.set = debug.SetGCPercent
	}
	return t
}

// Percent is the GOGC that lets a heap of live bytes grow by
// max(live, headroom) before the next collection, within [100, maxPct].
func Percent(live, headroom uint64, maxPct int) int {
	if live == 0 {
		return maxPct
	}
	p := headroom * 100 / live
	if p >= uint64(maxPct) {
		return maxPct
	}
	return max(int(p), 100)
}

// Adjust sets GOGC for the current live heap, and returns it. It leaves
// GOGC alone while the new value is within a tenth of the one in force,
// so that a steady heap does not change it every second.
func (t *Tuner) Adjust() int {
	p := Percent(t.live(), t.headroom, t.max)
	if t.cur != 0 && p*10 > t.cur*9 && p*10 < t.cur*11 {
		return t.cur
	}
	t.set(p)
	t.cur = p
	return p
}

// Run adjusts GOGC now and every Interval until ctx ends, then puts
// back the GOGC that was in force before.
func (t *Tuner) Run(ctx context.Context) {
	p := Percent(t.live(), t.headroom, t.max)
	prev := t.set(p)
	t.cur = p
	t.log.Info("garbage collector tuned (GOGC is not set)", "gogc", p, "headroom_mib", t.headroom>>20, "max_gogc", t.max)
	lifecycle.Every(ctx, Interval, false, func(context.Context) { t.Adjust() })
	t.set(prev)
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
