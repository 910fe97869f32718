package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// benchSQLite is a SQLite store with one team.
func benchSQLite(b *testing.B) store.Store {
	b.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateTeam(context.Background(), store.Team{Name: "acme", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return db
}

// A point read through the connection pool: what every cache miss costs.
func BenchmarkSQLiteRead(b *testing.B) {
	db := benchSQLite(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.Team(ctx, "acme"); err != nil {
			b.Fatal(err)
		}
	}
}

// A one-row write transaction, committed with fsync.
func BenchmarkSQLiteWrite(b *testing.B) {
	db := benchSQLite(b)
	ctx := context.Background()
	for b.Loop() {
		if err := db.LockTeam(ctx, "acme"); err != nil {
			b.Fatal(err)
		}
	}
}
