package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/faultproxy"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/store"
)

var modes = []faultproxy.Mode{faultproxy.Refuse, faultproxy.Blackhole}

// testTimeout is the store timeout of the fault tests: short, so that they
// are quick, and long enough for a loaded machine to answer when nothing
// is cut.
const testTimeout = 300 * time.Millisecond

// setupTimeout is the store timeout of these tests outside the cut: a
// busy test machine is not the fault under test.
const setupTimeout = 30 * time.Second

// slack is how much longer than its bound a call that cannot reach the
// database may take to return: scheduling and the database/sql pool's
// bookkeeping, on a busy test machine.
const slack = 500 * time.Millisecond

// proxied opens a PostgreSQL store of its own through a fault proxy, with
// the suite's generous timeout: a test sets testTimeout for the cut.
func proxied(t *testing.T, log *slog.Logger) (*DB, *faultproxy.Proxy, string) {
	t.Helper()
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.Start(t, u.Host)
	through, err := p.URL(direct)
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenPostgres(context.Background(), through, log)
	if err != nil {
		t.Fatalf("open postgres through the proxy: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetTimeout(setupTimeout)
	return db, p, direct
}

// call is one store method called with arguments that reach the database.
type call struct {
	name  string
	bound time.Duration // the longest it may take
	run   func(ctx context.Context) error
}

// calls lists every method of store.Store that asks the database, each
// called through reflection with arguments that make it do so, so that a
// method added to the interface is covered without being named here.
// Watch runs until its context ends and Check reads the whole database:
// only their steps are bounded. Close and Dialect do not ask.
func calls(s *DB) []call {
	special := map[string][]any{
		"AppendAudit":  {store.AuditEvent{Team: "alpha", Action: "x"}},
		"RecordKeyUse": {"alpha", []store.KeyUse{{ID: "k"}}},
		"Purge":        {store.PurgeAuditEvents, time.Now(), 10},
		"CountFailure": {"", "ip:192.0.2.1", time.Now(), time.Minute, 5},
		"UsersByID":    {"alpha", []string{"u"}},
		"Tx": {func(q store.Queries) error {
			return q.CreateApp(context.Background(), store.Application{Team: "alpha", Name: "tx"})
		}},
	}
	skip := []string{"Watch", "Check", "Close", "Dialect"}
	v := reflect.ValueOf(s)
	st := reflect.TypeFor[store.Store]()
	var out []call
	for i := range st.NumMethod() {
		m := st.Method(i)
		if slices.Contains(skip, m.Name) {
			continue
		}
		fn := v.MethodByName(m.Name)
		ft := fn.Type()
		bound := s.Timeout()
		out = append(out, call{name: m.Name, bound: bound, run: func(ctx context.Context) error {
			args := []reflect.Value{reflect.ValueOf(ctx)}
			if extra, ok := special[m.Name]; ok {
				for _, a := range extra {
					args = append(args, reflect.ValueOf(a))
				}
			} else {
				for j := 1; j < ft.NumIn(); j++ {
					if ft.IsVariadic() && j == ft.NumIn()-1 {
						break
					}
					args = append(args, reflect.Zero(ft.In(j)))
				}
			}
			res := fn.Call(args)
			err, _ := res[len(res)-1].Interface().(error)
			return err
		}})
	}
	return out
}

// Every store call made while the database is cut returns ErrUnavailable,
// naming the cause, within the timeout; once the way is restored every
// call gets an answer again, on the same store.
func TestUnavailable(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			s, p, _ := proxied(t, nil)
			ctx := context.Background()
			if err := s.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
				t.Fatal(err)
			}
			// Fill the pool, so that the cut finds idle connections too.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { s.Tx(ctx, func(q store.Queries) error { _, err := q.Team(ctx, "alpha"); return err }) })
			}
			wg.Wait()
			s.SetTimeout(testTimeout)
			cs := calls(s)

			if err := p.Cut(mode); err != nil {
				t.Fatal(err)
			}
			// All at once: more calls than the pool has connections, so
			// some wait for one.
			for _, c := range cs {
				wg.Go(func() {
					start := time.Now()
					err := c.run(ctx)
					took := time.Since(start)
					if !errors.Is(err, store.ErrUnavailable) {
						t.Errorf("%s while the database is cut (%v): error %v, want ErrUnavailable", c.name, mode, err)
					} else if !strings.Contains(err.Error(), "database unavailable (") {
						t.Errorf("%s: error %q does not name the cause", c.name, err)
					}
					if took > c.bound+slack {
						t.Errorf("%s while the database is cut (%v) took %v, want at most %v", c.name, mode, took, c.bound+slack)
					}
				})
			}
			wg.Wait()

			if err := p.Restore(); err != nil {
				t.Fatal(err)
			}
			s.SetTimeout(setupTimeout)
			// A connection the pool began to open during the cut may still
			// fail once after it; every call answers again within seconds.
			for _, c := range cs {
				var err error
				if _, ok := poll.Until(10*time.Second, func() bool {
					err = c.run(ctx)
					return !errors.Is(err, store.ErrUnavailable)
				}); !ok {
					t.Errorf("%s after the database is back: %v", c.name, err)
				}
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping after the database is back: %v", err)
			}
		})
	}
}

// A caller that gives up is not told that the database is unavailable.
func TestCallerCancelIsNotUnavailable(t *testing.T) {
	s, p, _ := proxied(t, nil)
	s.SetTimeout(testTimeout)
	if err := p.Cut(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := s.Team(ctx, "alpha")
	if err == nil || errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Team with a cancelled context: %v, want context.Canceled and not ErrUnavailable", err)
	}
	// A deadline of the caller's, earlier than the store's, is the
	// database not answering within the caller's budget.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Team(ctx, "alpha")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Team past the caller's deadline: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond+slack {
		t.Errorf("Team with a 50ms deadline took %v", took)
	}
}

// changes collects what a Watch delivers.
type changes struct {
	mu  sync.Mutex
	got []store.Change
}

func (c *changes) add(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ch)
}

func (c *changes) has(want store.Change) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.got, want)
}

func (c *changes) reset() []store.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

// watchWith runs s's watch with a PostgreSQL listener that checks its
// connection every check and tells moved of every move of its position.
// It returns what the watch delivers, and its fault log.
func watchWith(t *testing.T, s *DB, check time.Duration, moved func(uint64)) (*changes, *faultLog) {
	t.Helper()
	c := &changes{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	flog := &faultLog{log: s.log, what: "change listener", now: time.Now}
	go func() {
		done <- s.d.watch(ctx, watchEnv{db: s.db, lim: s.lim, listenCheck: check, moved: moved, log: flog}, c.add)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Watch did not return within 10s of its context's end")
		}
	})
	return c, flog
}

// failing reports whether the watch is failing now.
func (f *faultLog) failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.since.IsZero()
}

// syncWatch writes until a change comes through the watch: it gives no
// sign that it has started, and changes from before do not count.
func syncWatch(t *testing.T, s *DB, got *changes) {
	t.Helper()
	i := 0
	poll.Must(t, 10*time.Second, "a change through the watch", func() bool {
		i++
		name := fmt.Sprintf("sync-%d", i)
		if err := s.CreateApp(context.Background(), store.Application{Team: "alpha", Name: name}); err != nil {
			t.Fatal(err)
		}
		_, ok := poll.Until(200*time.Millisecond, func() bool { return got.has(appCh(name)) })
		return ok
	})
}

func appCh(name string) store.Change {
	return store.Change{Team: "alpha", Kind: store.KindApp, Key: name}
}

// After the listener's connection was cut, it delivers every change
// committed meanwhile, read from the change log, and not Change{}; a
// purge of changes it had delivered does not make it flush; a purge of
// changes it had not delivered does.
func TestListenerCatchesUp(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			log := &records{}
			reader, p, direct := proxied(t, slog.New(log))
			// The listener notices a blackhole when a check of its
			// connection times out.
			reader.SetTimeout(testTimeout)
			writer, err := OpenPostgres(context.Background(), direct, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer writer.Close()
			writer.SetTimeout(setupTimeout)
			ctx := context.Background()
			if err := writer.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
				t.Fatal(err)
			}
			var pos atomic.Uint64
			got, flog := watchWith(t, reader, 20*time.Millisecond, func(p uint64) { pos.Store(p) })
			syncWatch(t, writer, got)

			// Each cut lasts until the listener has noticed it, and each
			// restore until it has caught up, so that what the test writes
			// meanwhile happens while the listener is away.
			cut := func() {
				t.Helper()
				if err := p.Cut(mode); err != nil {
					t.Fatal(err)
				}
				poll.Must(t, 10*time.Second, "the listener to notice the cut", flog.failing)
			}
			restore := func() {
				t.Helper()
				if err := p.Restore(); err != nil {
					t.Fatal(err)
				}
				poll.Must(t, 10*time.Second, "the listener to reconnect", func() bool { return !flog.failing() })
			}

			t.Run("changes during the cut", func(t *testing.T) {
				got.reset()
				cut()
				var want []store.Change
				for j := range 5 {
					name := fmt.Sprintf("during-%d", j)
					if err := writer.CreateApp(ctx, store.Application{Team: "alpha", Name: name}); err != nil {
						t.Fatal(err)
					}
					want = append(want, appCh(name))
				}
				err := writer.Tx(ctx, func(q store.Queries) error {
					if err := q.CreateApp(ctx, store.Application{Team: "alpha", Name: "tx-a"}); err != nil {
						return err
					}
					return q.CreateTeam(ctx, store.Team{Name: "gamma"})
				})
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, appCh("tx-a"), store.Change{Team: "gamma", Kind: store.KindTeam, Key: "gamma"})
				restore()
				poll.Must(t, 10*time.Second, "every change made during the cut", func() bool {
					for _, w := range want {
						if !got.has(w) {
							return false
						}
					}
					return true
				})
				if got.has(store.Change{}) {
					t.Errorf("the listener flushed everything (Change{}) although the change log held every change")
				}
			})

			t.Run("purge of delivered changes", func(t *testing.T) {
				if err := writer.CreateApp(ctx, store.Application{Team: "alpha", Name: "seen"}); err != nil {
					t.Fatal(err)
				}
				last := newestChangeXID(t, direct)
				poll.Must(t, 10*time.Second, "the change delivered and the position past it", func() bool {
					return got.has(appCh("seen")) && pos.Load() > last
				})
				if _, err := writer.Purge(ctx, store.PurgeChanges, time.Now().Add(store.ChangeLogRetention), 10_000); err != nil {
					t.Fatal(err)
				}
				got.reset()
				cut()
				if err := writer.CreateApp(ctx, store.Application{Team: "alpha", Name: "after-purge"}); err != nil {
					t.Fatal(err)
				}
				restore()
				poll.Must(t, 10*time.Second, "the change made during the cut", func() bool { return got.has(appCh("after-purge")) })
				if got.has(store.Change{}) {
					t.Errorf("the listener flushed everything (Change{}) although the purge deleted only changes it had delivered")
				}
			})

			t.Run("purge of undelivered changes", func(t *testing.T) {
				got.reset()
				cut()
				if err := writer.CreateApp(ctx, store.Application{Team: "alpha", Name: "lost"}); err != nil {
					t.Fatal(err)
				}
				if _, err := writer.Purge(ctx, store.PurgeChanges, time.Now().Add(store.ChangeLogRetention), 10_000); err != nil {
					t.Fatal(err)
				}
				restore()
				poll.Must(t, 10*time.Second, "Change{} after a gap in the change log", func() bool { return got.has(store.Change{}) })
			})

			if t.Failed() {
				t.Logf("the reader's log:\n%s", log)
			}
			if n := strings.Count(strings.Join(log.all(), "\n"), "WARN"); n != 1 {
				t.Errorf("%d warnings for 3 cuts within a minute, want 1: %q", n, log.all())
			}
		})
	}
}

// newestChangeXID is the transaction ID of the newest change record.
func newestChangeXID(t *testing.T, url string) uint64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var x uint64
	if err := conn.QueryRow(context.Background(), `SELECT max(xid)::text::bigint FROM changes`).Scan(&x); err != nil {
		t.Fatal(err)
	}
	return x
}

// SQLite's watcher rides out errors: while its change log cannot be read
// it keeps trying, warning once, and then delivers what comes next.
func TestSQLiteWatchSurvivesErrors(t *testing.T) {
	log := &records{}
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetTimeout(setupTimeout)
	ctx := context.Background()
	if err := s.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
		t.Fatal(err)
	}
	got, flog := watchWith(t, s, 0, nil)
	syncWatch(t, s, got)

	// The fault: the change log is gone for a while (a real SQLite error,
	// "no such table", on every read).
	if _, err := s.db.ExecContext(ctx, `ALTER TABLE changes RENAME TO changes_away`); err != nil {
		t.Fatal(err)
	}
	const warn = "WARN change listener cannot reach the database; retrying"
	poll.Must(t, 5*time.Second, "the watcher to fail three times", func() bool {
		flog.mu.Lock()
		defer flog.mu.Unlock()
		return flog.failures >= 3
	})
	if _, err := s.db.ExecContext(ctx, `ALTER TABLE changes_away RENAME TO changes`); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx, store.Application{Team: "alpha", Name: "after"}); err != nil {
		t.Fatal(err)
	}
	poll.Must(t, 5*time.Second, "a change after the fault", func() bool { return got.has(appCh("after")) })
	lines := log.all()
	if n := strings.Count(strings.Join(lines, "\n"), warn); n != 1 {
		t.Errorf("%d warnings, want 1: %q", n, lines)
	}
	poll.Must(t, 5*time.Second, "the watcher to say it works again", func() bool {
		return slices.Contains(log.all(), "INFO change listener reaches the database again")
	})
}

// A watcher whose position the purge has passed delivers Change{}: the
// records it never read are gone.
func TestSQLiteWatchGap(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
		t.Fatal(err)
	}
	w := &sqliteWatcher{env: watchEnv{db: s.db, lim: s.lim}, last: -1}
	got := &changes{}
	w.fn = got.add
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := w.start(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := got.reset(); !slices.Equal(got, []store.Change{{}}) {
		t.Fatalf("start delivered %v, want Change{}", got)
	}
	for _, name := range []string{"a", "b", "c"} {
		if err := s.CreateApp(ctx, store.Application{Team: "alpha", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.read(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := got.reset(); !slices.Equal(got, []store.Change{appCh("a"), appCh("b"), appCh("c")}) {
		t.Fatalf("read %v, want a, b, c", got)
	}
	for _, name := range []string{"d", "e"} {
		if err := s.CreateApp(ctx, store.Application{Team: "alpha", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	// The purge takes "d" and "e" (and everything else) before the watcher
	// reads them; "f" comes after.
	if _, err := s.Purge(ctx, store.PurgeChanges, time.Now().Add(store.ChangeLogRetention), 10_000); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx, store.Application{Team: "alpha", Name: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.read(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := got.reset(); !slices.Equal(got, []store.Change{{}}) {
		t.Fatalf("read %v after a gap, want Change{}", got)
	}
	if err := s.CreateApp(ctx, store.Application{Team: "alpha", Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.read(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := got.reset(); !slices.Equal(got, []store.Change{appCh("g")}) {
		t.Fatalf("read %v after the gap, want g", got)
	}
}
