// Package audittest is an audit trail for the tests of the packages that
// audit (oauth, access, webui, statickey, ratelimit): it keeps the events
// it takes, or refuses them as a full audit spool does.
package audittest

import (
	"fmt"
	"sync"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Trail keeps the audit events it is given. Its zero value is ready; it
// is safe for concurrent use.
type Trail struct {
	mu     sync.Mutex
	events []store.AuditEvent
	fail   bool
}

// Add keeps e, or, while the trail fails, refuses it with an error that
// wraps store.ErrUnavailable, as the audit spool does when it is full.
func (t *Trail) Add(e store.AuditEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail {
		return fmt.Errorf("audit spool full: %w", store.ErrUnavailable)
	}
	t.events = append(t.events, e)
	return nil
}

// SetFail makes Add refuse (true) or keep (false) what it is given.
func (t *Trail) SetFail(fail bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail = fail
}

// Events are the events kept so far.
func (t *Trail) Events() []store.AuditEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]store.AuditEvent(nil), t.events...)
}

// Take returns the events kept so far and forgets them.
func (t *Trail) Take() []store.AuditEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.events
	t.events = nil
	return out
}

// Actions are the actions of the events kept so far, in order.
func (t *Trail) Actions() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var as []string
	for _, e := range t.events {
		as = append(as, e.Action)
	}
	return as
}
