// Package testclock is the clock tests inject where the code takes a
// func() time.Time: stopped at a time, or the wall clock shifted, and moved
// by the test. Safe for concurrent use.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock the test moves. The zero Clock is the wall clock;
// Advance shifts it, Set stops it at a time (which Advance then moves).
type Clock struct {
	mu     sync.Mutex
	frozen bool
	at     time.Time // the stopped time, when frozen
	offset time.Duration
}

// New returns a clock stopped at t.
func New(t time.Time) *Clock { return &Clock{frozen: true, at: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at.Add(c.offset)
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.at, c.offset = true, t, 0
}
