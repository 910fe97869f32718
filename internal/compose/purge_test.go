package compose_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// countingStore records the size of every purge batch.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	batches map[store.PurgeKind][]int
}

func (c *countingStore) Purge(ctx context.Context, kind store.PurgeKind, before time.Time, limit int) (int, error) {
	n, err := c.Store.Purge(ctx, kind, before, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batches == nil {
		c.batches = map[store.PurgeKind][]int{}
	}
	c.batches[kind] = append(c.batches[kind], n)
	return n, err
}

func openSQLite(t *testing.T) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	st, err := sqlstore.OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func services(t *testing.T, st store.Store, cfg config.Config, now func() time.Time) *compose.Services {
	t.Helper()
	key, err := masterkey.New(bytes.Repeat([]byte{9}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := compose.New(compose.Options{Config: cfg, Store: st, MasterKey: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestPurgeRetention(t *testing.T) {
	db, _ := openSQLite(t)
	st := &countingStore{Store: db}
	clock := testclock.New(t0)
	cfg := config.Default()
	cfg.AuditRetention = time.Hour
	cfg.LoginHistoryRetention = 0 // kept forever
	svc := services(t, st, cfg, clock.Now)

	if err := db.CreateTeam(t.Context(), store.Team{Name: "alpha", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// 2,500 events older than the retention, two newer; old login events.
	const old = 2*compose.PurgeBatch + 500
	var events []store.AuditEvent
	for i := range old {
		events = append(events, store.AuditEvent{Team: "alpha", At: t0.Add(-2*time.Hour + time.Duration(i)*time.Millisecond),
			Actor: "client:c", Action: "token.issue", Target: "client:c"})
	}
	for _, d := range []time.Duration{-59 * time.Minute, -time.Second} {
		events = append(events, store.AuditEvent{Team: "alpha", At: t0.Add(d), Actor: "cli", Action: "user.create", Target: "user:new"})
	}
	if err := db.AppendAudit(t.Context(), events...); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := db.AppendLogin(t.Context(), store.LoginEvent{Team: "alpha", At: t0.Add(-time.Duration(i+1) * 1000 * time.Hour),
			Email: "ann@example.com", Reason: "bad password"}); err != nil {
			t.Fatal(err)
		}
	}

	deleted, err := svc.Purge(t.Context())
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if deleted[store.PurgeAuditEvents] != old || deleted[store.PurgeLoginEvents] != 0 {
		t.Errorf("Purge deleted %v, want %d audit events and no login event", deleted, old)
	}
	// Batches of at most PurgeBatch, again while full.
	if got, want := fmt.Sprint(st.batches[store.PurgeAuditEvents]), fmt.Sprint([]int{1000, 1000, 500}); got != want {
		t.Errorf("audit purge batches = %s, want %s", got, want)
	}
	if _, ok := st.batches[store.PurgeLoginEvents]; ok {
		t.Errorf("login history kept forever was purged: batches %v", st.batches[store.PurgeLoginEvents])
	}
	left, _, err := db.ListAudit(t.Context(), "alpha", store.AuditFilter{}, store.Page{Limit: 100})
	if err != nil || len(left) != 2 {
		t.Errorf("audit events left: %d (%v), want the 2 within the retention", len(left), err)
	}
	logins, _, err := db.ListLogins(t.Context(), "alpha", store.LoginFilter{}, store.Page{Limit: 100})
	if err != nil || len(logins) != 3 {
		t.Errorf("login events left: %d (%v), want all 3", len(logins), err)
	}

	// An hour later the two newer events are past the retention too.
	clock.Advance(time.Hour)
	if deleted, err := svc.Purge(t.Context()); err != nil || deleted[store.PurgeAuditEvents] != 2 {
		t.Errorf("Purge an hour later = %v, %v; want 2 audit events", deleted, err)
	}
}

func TestPurgeInterval(t *testing.T) {
	for _, tc := range []struct {
		audit, logins time.Duration
		want          time.Duration
	}{
		{2160 * time.Hour, 2160 * time.Hour, compose.MaxPurgeInterval},
		{0, 0, compose.MaxPurgeInterval},
		{time.Hour, 0, 6 * time.Minute},
		{0, 10 * time.Minute, time.Minute},
		{time.Minute, 2160 * time.Hour, 6 * time.Second},
		{time.Minute, time.Minute, 6 * time.Second},
		{30 * time.Second, 0, 5 * time.Second}, // below the floor
	} {
		cfg := config.Config{AuditRetention: tc.audit, LoginHistoryRetention: tc.logins}
		if got := compose.PurgeInterval(cfg); got != tc.want {
			t.Errorf("PurgeInterval(audit %s, logins %s) = %s, want %s", tc.audit, tc.logins, got, tc.want)
		}
	}
}

// A database that holds its write lock past --database-timeout fails each
// batch within the timeout: the purge returns, with the error, instead of
// waiting on the lock.
func TestPurgeDatabaseTimeout(t *testing.T) {
	db, path := openSQLite(t)
	cfg := config.Default()
	cfg.DatabaseTimeout = 50 * time.Millisecond
	svc := services(t, db, cfg, func() time.Time { return t0 })

	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO teams (name, created_at) VALUES ('locker', 0)`); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = svc.Purge(t.Context())
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Purge with the write lock held elsewhere: no error")
	}
	// Nine kinds, each given up after the 50 ms timeout; the SQLite busy
	// timeout (10 s) would be far longer.
	if limit := 5 * time.Second; elapsed > limit {
		t.Errorf("Purge with the write lock held elsewhere took %s, want under %s", elapsed, limit)
	}
	// Once the lock is gone the next run succeeds.
	tx.Rollback()
	if _, err := svc.Purge(t.Context()); err != nil {
		t.Errorf("Purge after the lock was released: %v", err)
	}
}

// A closed database fails every kind; Purge reports it and does not stop
// at the first.
func TestPurgeClosedDatabase(t *testing.T) {
	db, _ := openSQLite(t)
	st := &countingStore{Store: db}
	svc := services(t, st, config.Default(), func() time.Time { return t0 })
	db.Close()
	_, err := svc.Purge(t.Context())
	if err == nil {
		t.Fatal("Purge on a closed database: no error")
	}
	if len(st.batches) != len(store.PurgeKinds) {
		t.Errorf("Purge tried %d kinds after the first failure, want all %d", len(st.batches), len(store.PurgeKinds))
	}
}
