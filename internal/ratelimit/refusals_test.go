package ratelimit_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// count is the sum of the events' counts.
func count(t *testing.T, events []store.AuditEvent) int {
	t.Helper()
	n := 0
	for _, e := range events {
		c, err := strconv.Atoi(e.Detail["count"])
		if err != nil {
			t.Fatalf("event %+v: count %q", e, e.Detail["count"])
		}
		n += c
	}
	return n
}

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func loginRefusal(ip string) ratelimit.Refusal {
	return ratelimit.Refusal{Team: "alpha", Action: "login.throttled", Limit: "ip", Target: "ip:" + ip, IP: ip, UserAgent: "curl/8.5"}
}

// 1,000 refused attempts of one key make one event, not 1,000.
func TestRefusalsAggregate(t *testing.T) {
	a := &audittest.Trail{}
	clock := testclock.New(t0)
	r := ratelimit.NewRefusals(a, time.Minute, clock.Now)
	for i := range 1000 {
		r.Add(loginRefusal("192.0.2.9"))
		if i == 0 {
			clock.Advance(time.Second)
		}
	}
	r.WriteClosed()
	if got := a.Take(); len(got) != 0 {
		t.Fatalf("a window still open wrote %d events", len(got))
	}
	clock.Advance(time.Minute)
	r.WriteClosed()
	got := a.Take()
	if len(got) != 1 {
		t.Fatalf("1,000 refused attempts wrote %d events, want 1", len(got))
	}
	e := got[0]
	want := store.AuditEvent{Team: "alpha", At: t0, Actor: "anonymous", Action: "login.throttled", Target: "ip:192.0.2.9",
		IP: "192.0.2.9", UserAgent: "curl/8.5", Detail: map[string]string{"limit": "ip", "count": "1000", "window": "1m0s",
			"last": t0.Add(time.Second).Format(time.RFC3339Nano)}}
	if d := cmp.Diff(want, e); d != "" {
		t.Errorf("event mismatch (-want +got):\n%s", d)
	}
	if r.Open() != 0 {
		t.Errorf("%d windows open after the write, want 0", r.Open())
	}
}

// A window whose event the audit trail cannot take stays counted and is
// handed over, with the attempts counted since, once it can.
func TestRefusalsKeptWhileAuditFails(t *testing.T) {
	a := &audittest.Trail{}
	a.SetFail(true)
	clock := testclock.New(t0)
	r := ratelimit.NewRefusals(a, time.Minute, clock.Now)
	for range 10 {
		r.Add(loginRefusal("192.0.2.9"))
	}
	clock.Advance(time.Minute)
	r.WriteClosed()
	r.Add(loginRefusal("192.0.2.9")) // a new window; the old one is back
	if r.Open() != 1 {
		t.Fatalf("%d windows open, want the one key", r.Open())
	}
	a.SetFail(false)
	clock.Advance(time.Minute)
	r.WriteClosed()
	got := a.Take()
	if len(got) != 1 || got[0].Detail["count"] != "11" || !got[0].At.Equal(t0) {
		t.Fatalf("events after the audit trail is back: %+v, want one with count 11 from the first attempt", got)
	}
}

// A key refused across windows gets one event per window; different
// teams, limits and targets are counted apart; Flush writes what is open.
func TestRefusalsWindowsAndKeys(t *testing.T) {
	a := &audittest.Trail{}
	clock := testclock.New(t0)
	r := ratelimit.NewRefusals(a, time.Minute, clock.Now)
	for range 3 { // three windows of 10 attempts each
		for range 10 {
			r.Add(loginRefusal("192.0.2.9"))
		}
		clock.Advance(time.Minute)
	}
	// The third window closed but nothing has written it yet; the next
	// attempt of the key does.
	r.Add(loginRefusal("192.0.2.9"))
	got := a.Take()
	if len(got) != 3 || count(t, got) != 30 {
		t.Fatalf("three windows of 10: %d events counting %d, want 3 counting 30", len(got), count(t, got))
	}
	for i, e := range got {
		if want := t0.Add(time.Duration(i) * time.Minute); !e.At.Equal(want) {
			t.Errorf("window %d at %s, want %s", i, e.At, want)
		}
	}
	others := []ratelimit.Refusal{
		{Team: "beta", Action: "login.throttled", Limit: "ip", Target: "ip:192.0.2.9"},
		{Team: "alpha", Action: "login.throttled", Limit: "account", Target: "user:ann@example.com"},
		{Team: "alpha", Action: "client.auth.throttled", Limit: "ip", Target: "ip:192.0.2.9"},
		{Team: "alpha", Action: "login.throttled", Limit: "ip", Target: "ip:192.0.2.10"},
	}
	for _, x := range others {
		r.Add(x)
		r.Add(x)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got = a.Take()
	if len(got) != 1+len(others) || count(t, got) != 1+2*len(others) {
		t.Errorf("Flush: %d events counting %d, want %d counting %d", len(got), count(t, got), 1+len(others), 1+2*len(others))
	}
}

// The open windows are bounded: keys past the bound are counted together
// under the target "*", and nothing is lost.
func TestRefusalsBounded(t *testing.T) {
	a := &audittest.Trail{}
	r := ratelimit.NewRefusals(a, time.Minute, testclock.New(t0).Now)
	const keys = 12_000
	for i := range keys {
		r.Add(loginRefusal(fmt.Sprintf("10.0.%d.%d", i/256, i%256)))
	}
	if open := r.Open(); open > 10_001 {
		t.Errorf("%d windows open, want at most 10,001", open)
	}
	r.Flush(t.Context())
	got := a.Take()
	if n := count(t, got); n != keys {
		t.Errorf("events count %d attempts, want %d", n, keys)
	}
	var overflow int
	for _, e := range got {
		if e.Target == "*" {
			overflow, _ = strconv.Atoi(e.Detail["count"])
		}
	}
	if overflow != keys-10_000 {
		t.Errorf("the overflow event counts %d, want %d", overflow, keys-10_000)
	}
}

func TestRefusalsConcurrent(t *testing.T) {
	a := &audittest.Trail{}
	clock := testclock.New(t0)
	r := ratelimit.NewRefusals(a, time.Minute, clock.Now)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				r.Add(loginRefusal(fmt.Sprintf("192.0.2.%d", w)))
				if i%100 == 0 {
					r.WriteClosed()
				}
			}
		})
	}
	wg.Wait()
	r.Flush(t.Context())
	if got := a.Take(); len(got) != 8 || count(t, got) != 4000 {
		t.Errorf("8 keys of 500: %d events counting %d, want 8 counting 4000", len(got), count(t, got))
	}
}

func TestRefusalsNil(t *testing.T) {
	var r *ratelimit.Refusals
	r.Add(loginRefusal("192.0.2.1"))
	r.WriteClosed()
	r.Flush(t.Context())
	if r.Open() != 0 {
		t.Error("a nil tally has open windows")
	}
}
