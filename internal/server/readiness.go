package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ReadinessCheck is one condition of readiness: /readyz answers 200 only
// while every check holds. A dependency that a request needs adds one
// with Server.AddReadinessCheck, for example
//
//	srv.AddReadinessCheck(server.ReadinessCheck{Name: "audit spool",
//		Check: func(context.Context) error { return spool.Health() }})
type ReadinessCheck struct {
	// Name names the check in /readyz's answer and in the log.
	Name string
	// Check returns nil while the condition holds, else the reason, which
	// /readyz shows. Its context ends after ReadinessTimeout; a check that
	// has not answered by then counts as failing.
	Check func(ctx context.Context) error
	// Every, if positive, keeps Check's result this long by the server's
	// clock, so that a costly check (the database write probe) runs at
	// most once a period, however often /readyz is asked. Zero runs Check
	// on every request: keep such a check cheap.
	Every time.Duration
}

// ProbeInterval is how long readiness keeps the result of the database
// write probe: the database gets one probe write per node and interval.
const ProbeInterval = 5 * time.Second

// ReadinessTimeout bounds one run of a readiness check.
const ReadinessTimeout = 2 * time.Second

// AddReadinessCheck adds c to the checks of /readyz. Call it before Run.
// NewWith adds the database write probe ("database").
func (s *Server) AddReadinessCheck(c ReadinessCheck) { s.ready.add(c) }

// readiness is the server's set of readiness checks, and whether shutdown
// has begun.
type readiness struct {
	now      func() time.Time
	log      *slog.Logger
	stopping atomic.Bool

	mu     sync.Mutex // guards checks
	checks []*readyCheck
}

type readyCheck struct {
	ReadinessCheck
	mu      sync.Mutex
	ran     bool
	at      time.Time     // when the kept result's run began
	err     error         // the kept result
	running chan struct{} // closed when the run under way ends; nil when none is
}

type failure struct {
	name string
	err  error
}

func (r *readiness) add(c ReadinessCheck) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, &readyCheck{ReadinessCheck: c})
}

// failing runs the checks (or takes their kept results) and returns the
// ones that do not hold, in the order they were added.
func (r *readiness) failing() []failure {
	r.mu.Lock()
	checks := r.checks
	r.mu.Unlock()
	var out []failure
	for _, c := range checks {
		if err := c.result(r.now, r.log); err != nil {
			out = append(out, failure{c.Name, err})
		}
	}
	return out
}

// result is the check's kept result if it is fresh, else the result of a
// new run. Concurrent requests share one run, and none waits for it longer
// than ReadinessTimeout: a check that does not answer by then is failing
// (and its run is left to end). A change of state is logged once, not on
// every request.
func (c *readyCheck) result(now func() time.Time, log *slog.Logger) error {
	c.mu.Lock()
	t := now()
	if c.ran && c.Every > 0 && !t.Before(c.at) && t.Sub(c.at) < c.Every {
		defer c.mu.Unlock()
		return c.err
	}
	if c.running == nil {
		done := make(chan struct{})
		c.running = done
		go func() {
			defer close(done)
			// Not the request's context: a caller that goes away must not
			// make the kept result a cancellation.
			ctx, cancel := context.WithTimeout(context.Background(), ReadinessTimeout)
			err := c.Check(ctx)
			cancel()
			c.mu.Lock()
			defer c.mu.Unlock()
			switch {
			case err != nil && (c.err == nil || err.Error() != c.err.Error()):
				log.Warn("not ready", "check", c.Name, "reason", err)
			case err == nil && c.err != nil:
				log.Info("ready again", "check", c.Name)
			}
			c.ran, c.at, c.err, c.running = true, t, err, nil
		}()
	}
	done := c.running
	c.mu.Unlock()
	timer := time.NewTimer(ReadinessTimeout)
	defer timer.Stop()
	select {
	case <-done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case <-timer.C:
		return fmt.Errorf("no answer within %v", ReadinessTimeout)
	}
}
