package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Refusal is one attempt that a limit refused.
type Refusal struct {
	Team string
	// Action is the audit action of the aggregated event, such as
	// "login.throttled" or "client.auth.throttled".
	Action string
	// Limit names the limit that refused: "account", "client" or "ip".
	Limit string
	// Target is what that limit counts: "user:<email>", "client:<id>",
	// "ip:<address>". Attempts are aggregated per team, action, limit
	// and target.
	Target string
	// IP and UserAgent are the attempt's; the event keeps the first
	// attempt's of its window.
	IP, UserAgent string
}

// Auditor takes audit events to write (auditlog.Batcher is one); an
// error means the event was not taken.
type Auditor interface {
	Add(e store.AuditEvent) error
}

// Refusals counts the attempts that the limits refused and audits them
// together: one event per key (team, action, limit, target) and window,
// with the count, instead of a row per attempt. An attacker who keeps
// hammering a blocked account or address costs a map update per attempt
// and one audit row a window.
//
// A window starts with its key's first refused attempt and lasts Window.
// Its event is handed to the audit path when it has closed: by the next
// refusal of the key, by WriteClosed (which Run calls every second), or
// by Flush. The map is bounded: past maxRefusalKeys open keys, a team's
// further keys are counted together under the target "*".
//
// The zero value and nil are not usable; build one with NewRefusals. A
// nil *Refusals counts nothing.
type Refusals struct {
	audit  Auditor
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	open map[refusalKey]*tally
}

type refusalKey struct{ team, action, limit, target string }

type tally struct {
	first, last   time.Time
	count         int
	ip, userAgent string // of the first attempt
}

// maxRefusalKeys bounds the open windows (each a few hundred bytes at
// most: the strings are clipped).
const maxRefusalKeys = 10_000

// overflowTarget stands for every key counted after the map was full.
const overflowTarget = "*"

// NewRefusals returns a tally that hands its events to audit, one per key
// and window; now nil means time.Now.
func NewRefusals(audit Auditor, window time.Duration, now func() time.Time) *Refusals {
	if now == nil {
		now = time.Now
	}
	return &Refusals{audit: audit, window: window, now: now, open: map[refusalKey]*tally{}}
}

// Add counts a refused attempt.
func (r *Refusals) Add(x Refusal) {
	if r == nil {
		return
	}
	now := r.now()
	k := refusalKey{team: x.Team, action: x.Action, limit: x.Limit, target: kernel.Clip(x.Target, kernel.MaxName)}
	var closed []refused
	r.mu.Lock()
	t := r.open[k]
	if t != nil && now.Sub(t.first) >= r.window {
		closed = append(closed, refused{k, t})
		delete(r.open, k)
		t = nil
	}
	if t == nil && len(r.open) >= maxRefusalKeys {
		k.target = overflowTarget
		t = r.open[k]
	}
	if t == nil {
		t = &tally{first: now, ip: kernel.Clip(x.IP, kernel.MaxIP), userAgent: kernel.Clip(x.UserAgent, kernel.MaxUserAgent)}
		r.open[k] = t
	}
	t.count++
	t.last = now
	r.mu.Unlock()
	r.write(closed)
}

// WriteClosed hands over the events of every window that has closed.
func (r *Refusals) WriteClosed() {
	if r == nil {
		return
	}
	now := r.now()
	r.take(func(t *tally) bool { return now.Sub(t.first) >= r.window })
}

// Flush hands over the events of every window, closed or not: on
// shutdown, before the audit writer writes what it holds.
func (r *Refusals) Flush(context.Context) error {
	r.take(func(*tally) bool { return true })
	return nil
}

// Run hands over closed windows every second until ctx ends, then every
// open one.
func (r *Refusals) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Flush(ctx)
			return
		case <-t.C:
			r.WriteClosed()
		}
	}
}

// Open is the number of open windows.
func (r *Refusals) Open() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.open)
}

func (r *Refusals) take(done func(*tally) bool) {
	if r == nil {
		return
	}
	var closed []refused
	r.mu.Lock()
	for k, t := range r.open {
		if done(t) {
			closed = append(closed, refused{k, t})
			delete(r.open, k)
		}
	}
	r.mu.Unlock()
	r.write(closed)
}

// refused is a closed window of one key.
type refused struct {
	k refusalKey
	t *tally
}

// write hands the windows' events to the audit path. A window whose event
// is not taken (the audit trail cannot take it now) goes back into the
// map, merged with the key's window opened since, to be handed over
// later: counted attempts are not lost.
func (r *Refusals) write(closed []refused) {
	for _, c := range closed {
		if err := r.audit.Add(r.event(c.k, c.t)); err == nil {
			continue
		}
		r.mu.Lock()
		if o, ok := r.open[c.k]; ok {
			o.count += c.t.count
			o.first = c.t.first
		} else {
			r.open[c.k] = c.t
		}
		r.mu.Unlock()
	}
}

// event is the audit event of one window: at its first attempt, by an
// anonymous actor (the attempts were refused before any credential was
// checked), with the count and the span.
func (r *Refusals) event(k refusalKey, t *tally) store.AuditEvent {
	return kernel.Event(kernel.Actor{ID: "anonymous", IP: t.ip, UserAgent: t.userAgent}, t.first, k.team, k.action, k.target,
		map[string]string{
			"limit":  k.limit,
			"count":  strconv.Itoa(t.count),
			"window": r.window.String(),
			"last":   t.last.UTC().Format(time.RFC3339Nano),
		})
}
