package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/auditlog"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/spool"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// memStore stores events as a database with the unique index does: an
// event whose (team, EventID) it holds is skipped. fail, while it returns
// an error, refuses a write.
type memStore struct {
	mu     sync.Mutex
	events []store.AuditEvent
	seen   map[string]bool
	dups   int
	calls  int
	fail   func(call int) error
	// hang makes every call wait until its context ends, as a database
	// that passes no byte does, and then fail.
	hang bool
}

func (m *memStore) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	if m.hang {
		<-ctx.Done()
		return fmt.Errorf("no route to host: %w", ctx.Err())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		if err := m.fail(m.calls); err != nil {
			return err
		}
	}
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	for _, e := range events {
		if e.EventID == "" {
			return errors.New("an event without an id")
		}
		if k := e.Team + "/" + e.EventID; m.seen[k] {
			m.dups++
		} else {
			m.seen[k] = true
			m.events = append(m.events, e)
		}
	}
	return nil
}

func (m *memStore) stored() []store.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.AuditEvent(nil), m.events...)
}

func event(i int) store.AuditEvent {
	return store.AuditEvent{Team: "acme", At: time.Date(2026, 12, 1, 9, 0, 0, i*1000, time.UTC), Actor: "client:c1",
		Action: "token.issue", Target: "client:c1", IP: "192.0.2.1", UserAgent: "ua/1",
		Detail: map[string]string{"jti": fmt.Sprint(i), "scope": "a b"}}
}

func open(t *testing.T, dir string, st auditlog.Appender, tweak ...func(*auditlog.Options)) *auditlog.Batcher {
	t.Helper()
	o := auditlog.Options{Dir: dir, MaxBytes: 1 << 30, Store: st, Interval: 5 * time.Millisecond, Wait: 10 * time.Second,
		MaxBackoff: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	for _, f := range tweak {
		f(&o)
	}
	b, err := auditlog.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs b's shipper until the test ends (or stop is called), then
// flushes it.
func run(t *testing.T, b *auditlog.Batcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer fcancel()
			if err := b.Flush(fctx); err != nil {
				t.Errorf("Flush: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

var ignoreID = cmpopts.IgnoreFields(store.AuditEvent{}, "EventID")

// Events added from many goroutines reach the store once each, with an
// event id, as they were added.
func TestAddShipsEveryEventOnce(t *testing.T) {
	st := &memStore{}
	b := open(t, t.TempDir(), st)
	run(t, b)
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 30 {
				if err := b.Add(event(g*30 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	poll.Must(t, 10*time.Second, "300 events stored", func() bool { return len(st.stored()) == 300 })
	got := st.stored()
	byJTI := map[string]store.AuditEvent{}
	for _, e := range got {
		if e.EventID == "" {
			t.Fatalf("event without an id: %+v", e)
		}
		byJTI[e.Detail["jti"]] = e
	}
	for i := range 300 {
		if d := cmp.Diff(event(i), byJTI[fmt.Sprint(i)], ignoreID); d != "" {
			t.Fatalf("event %d (-added +stored):\n%s", i, d)
		}
	}
	if st.dups != 0 {
		t.Errorf("%d duplicates sent without a failure", st.dups)
	}
}

// While the store fails, events wait and are retried without end; none is
// lost or doubled, their order is kept, and the outage is logged once a
// minute at most.
func TestFailingStoreLosesNothing(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	st := &memStore{fail: func(int) error {
		if failing.Load() {
			return fmt.Errorf("connect: %w", store.ErrUnavailable)
		}
		return nil
	}}
	var logs lines
	b := open(t, t.TempDir(), st, func(o *auditlog.Options) {
		o.Log = slog.New(&logs)
		o.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) } // a minute never passes
	})
	run(t, b)
	for i := range 50 {
		if err := b.Add(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	poll.Must(t, 10*time.Second, "20 failed writes", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.calls >= 20
	})
	failing.Store(false)
	poll.Must(t, 10*time.Second, "50 events stored", func() bool { return len(st.stored()) == 50 })
	for i, e := range st.stored() {
		if e.Detail["jti"] != fmt.Sprint(i) {
			t.Fatalf("event %d is jti %s: out of order", i, e.Detail["jti"])
		}
	}
	if n := logs.count("cannot be written to the database"); n != 1 {
		t.Errorf("%d log lines about the outage within a minute, want 1:\n%s", n, logs.String())
	}
	if n := logs.count("reach the database again"); n != 1 {
		t.Errorf("%d log lines about the recovery, want 1", n)
	}
}

// A node that dies after the database committed a batch and before the
// spool's checkpoint sends the batch again on start; the event ids keep
// each event single in a real database.
func TestExactlyOnceAfterCrashBeforeCheckpoint(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()

	// The first process: the database takes the batch, and the process
	// dies before the batcher hears back (its write never returns).
	died := make(chan struct{})
	crash := &hook{Appender: db, after: func() { <-died }}
	b := open(t, dir, crash, func(o *auditlog.Options) { o.Log = slog.New(slog.DiscardHandler) })
	for i := range 40 {
		if err := b.Add(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	go b.Run(runCtx)
	poll.Must(t, 10*time.Second, "the database's commit", func() bool { return countAudit(t, db) == 40 })
	b.Crash() // no checkpoint, no flush: the process is gone
	cancel()
	close(died)

	// The next process replays the spool from its checkpoint.
	b2 := open(t, dir, db)
	run(t, b2)
	if err := b2.Add(event(40)); err != nil {
		t.Fatal(err)
	}
	poll.Must(t, 10*time.Second, "the event added after the restart", func() bool { return countAudit(t, db) >= 41 })
	if n := countAudit(t, db); n != 41 {
		t.Fatalf("%d events in the database, want 41: a replayed batch was stored twice", n)
	}
}

// hook is an Appender that calls after once the write has committed.
type hook struct {
	auditlog.Appender
	after func()
}

func (h *hook) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	err := h.Appender.AppendAudit(ctx, events...)
	if err == nil {
		h.after()
	}
	return err
}

func countAudit(t *testing.T, db store.Store) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		page, next, err := db.ListAudit(context.Background(), "acme", store.AuditFilter{}, store.Page{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// Past the cap Add fails with an error that is a store.ErrUnavailable, and
// Health says why.
func TestAddPastCap(t *testing.T) {
	st := &memStore{fail: func(int) error { return errors.New("down") }}
	b := open(t, t.TempDir(), st, func(o *auditlog.Options) { o.MaxBytes = 64 << 10 })
	run(t, b)
	var err error
	for i := 0; err == nil && i < 10_000; i++ {
		err = b.Add(event(i))
	}
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Add past the cap = %v, want ErrUnavailable and ErrFull", err)
	}
	if h := b.Health(); h == nil || !strings.Contains(h.Error(), "full") {
		t.Fatalf("Health past the cap = %v", h)
	}
}

// Shutdown with the database away ends within its deadline, returns nil,
// and the next start ships what the spool holds.
func TestFlushWithDatabaseAway(t *testing.T) {
	dir := t.TempDir()
	hang := &memStore{hang: true}
	b := open(t, dir, hang)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	for i := range 10 {
		if err := b.Add(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	fctx, fcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer fcancel()
	start := time.Now()
	if err := b.Flush(fctx); err != nil {
		t.Fatalf("Flush with the database away = %v, want nil", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("Flush took %v past its deadline of 500ms", took)
	}
	if err := b.Add(event(99)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Add after Flush = %v, want ErrUnavailable", err)
	}

	st := &memStore{}
	run(t, open(t, dir, st))
	poll.Must(t, 10*time.Second, "the 10 spooled events", func() bool { return len(st.stored()) == 10 })
}

// lines is a slog handler that keeps the messages it gets.
type lines struct {
	mu  sync.Mutex
	msg []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msg = append(l.msg, r.Message)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func (l *lines) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msg {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msg, "\n")
}
