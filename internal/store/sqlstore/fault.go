package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultTimeout bounds every store operation of a DB whose SetTimeout was
// not called; it is the default of --database-timeout.
const DefaultTimeout = 750 * time.Millisecond

// limits holds the timeout, shared by a DB and the queries of its
// transactions.
type limits struct{ timeout atomic.Int64 }

func newLimits() *limits {
	l := new(limits)
	l.timeout.Store(int64(DefaultTimeout))
	return l
}

func (l *limits) get() time.Duration { return time.Duration(l.timeout.Load()) }

// SetTimeout bounds every store operation to d, unless its caller's own
// deadline is earlier: the wait for a pooled connection, a new connection
// (PostgreSQL's connect timeout), the statements and, for Tx, the whole
// transaction. An operation that does not finish in time ends with an error
// wrapping store.ErrUnavailable. Check, an
// operator's command that reads the whole database, and Watch, which runs
// until its context ends, are not bounded as a whole (each step of Watch
// is). d <= 0 restores DefaultTimeout. It is safe to call at any time.
func (s *DB) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	s.lim.timeout.Store(int64(d))
}

// Timeout is the bound of every store operation (see SetTimeout).
func (s *DB) Timeout() time.Duration { return s.lim.get() }

// op bounds one store operation by the store's timeout. The returned
// function, deferred with the operation's error, releases the bound and
// marks an error that means the database cannot answer with
// store.ErrUnavailable.
func (q *queries) op(ctx context.Context) (context.Context, func(*error)) {
	return q.opWithin(ctx, q.lim.get())
}

func (q *queries) opWithin(ctx context.Context, d time.Duration) (context.Context, func(*error)) {
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, func(errp *error) {
		expired := ctx.Err() != nil
		cancel()
		if *errp != nil {
			*errp = q.fault(caller, expired, d, *errp)
		}
	}
}

// fault returns err, marked with store.ErrUnavailable if it means
// that the database cannot answer now: the operation ran out of time (its
// own bound or the caller's deadline), the connection failed, or the
// engine says it cannot serve (see the dialects' classify). An error the
// database answered with, and the end of a context the caller cancelled,
// are returned as they are.
func (q *queries) fault(caller context.Context, expired bool, d time.Duration, err error) error {
	switch {
	case errors.Is(err, store.ErrUnavailable),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists),
		errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		return err
	case errors.Is(caller.Err(), context.Canceled):
		return err
	case expired || errors.Is(err, context.DeadlineExceeded):
		if caller.Err() != nil {
			return &faultError{cause: "no answer before the caller's deadline", err: err}
		}
		return &faultError{cause: fmt.Sprintf("no answer within %s", d), err: err}
	}
	if c := q.d.classify(err); errors.Is(c, store.ErrUnavailable) {
		var fe *faultError
		if errors.As(c, &fe) {
			return &faultError{cause: fe.cause, err: err}
		}
		return fmt.Errorf("%w: %w", c, err)
	}
	if cause := connectionFault(err); cause != "" {
		return &faultError{cause: cause, err: err}
	}
	return err
}

// faultError is an error of a database that cannot answer now; its text
// starts with "database unavailable (<cause>)".
type faultError struct {
	cause string
	err   error
}

// unavailable marks err, an engine's error, as the database's failure to
// answer for cause; a dialect's classify returns it.
func unavailable(cause string, err error) error { return &faultError{cause: cause, err: err} }

func (e *faultError) Error() string {
	return store.ErrUnavailable.Error() + " (" + e.cause + "): " + e.err.Error()
}

func (e *faultError) Unwrap() []error { return []error{store.ErrUnavailable, e.err} }

// connectionFault names what went wrong with the way to the database, or
// returns "" if err is not about it.
func connectionFault(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNABORTED):
		return "connection aborted"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "connection timed out"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return "network unreachable"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn):
		return "connection lost"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "network timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "network error"
	}
	return ""
}

// faultLog reports a background loop's failures (a change watcher's) in
// at most one warning a minute, and, when it works again after a warning,
// one line that says so.
type faultLog struct {
	log  *slog.Logger
	what string // "change listener"
	now  func() time.Time

	mu       sync.Mutex
	since    time.Time // first failure of the current run, zero when working
	failures int       // in the current run
	warned   bool      // in the current run
	lastWarn time.Time
}

// faultLogEvery is how often a failing loop may log.
const faultLogEvery = time.Minute

func (f *faultLog) failed(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.since.IsZero() {
		f.since = now
	}
	f.failures++
	if !f.lastWarn.IsZero() && now.Sub(f.lastWarn) < faultLogEvery {
		return
	}
	f.lastWarn, f.warned = now, true
	f.log.Warn(f.what+" cannot reach the database; retrying", "err", err,
		"failures", f.failures, "failing_for", now.Sub(f.since).Round(time.Millisecond))
}

func (f *faultLog) recovered() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.since.IsZero() {
		return
	}
	if f.warned {
		f.log.Info(f.what+" reaches the database again", "failures", f.failures,
			"failed_for", f.now().Sub(f.since).Round(time.Millisecond))
	}
	f.since, f.failures, f.warned = time.Time{}, 0, false
}

// backoff is the wait before the next attempt of a failing loop: it doubles
// from minBackoff to maxBackoff.
type backoff struct{ next time.Duration }

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

func (b *backoff) wait(ctx context.Context) bool {
	if b.next == 0 {
		b.next = minBackoff
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, maxBackoff)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (b *backoff) reset() { b.next = 0 }
