package sqlstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// Both dialects must have the same migration versions, so that one binary
// moves either database to the same schema.
func TestMigrationVersionsMatch(t *testing.T) {
	lite, err := migrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 {
		t.Fatal("no migrations")
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].version != pg[i].version || lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].name, pg[i].name)
		}
	}
}

// Nodes starting at once must not race on migrations.
func TestConcurrentMigrations(t *testing.T) {
	open := map[string]func(context.Context) (*DB, error){
		"sqlite": func() func(context.Context) (*DB, error) {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			return func(ctx context.Context) (*DB, error) { return OpenSQLite(ctx, path, nil) }
		}(),
	}
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		runConcurrentOpens(t, func(ctx context.Context) (*DB, error) { return OpenPostgres(ctx, url, nil) })
	})
	t.Run("sqlite", func(t *testing.T) { runConcurrentOpens(t, open["sqlite"]) })
}

func runConcurrentOpens(t *testing.T, open func(context.Context) (*DB, error)) {
	ctx := context.Background()
	const nodes = 6
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	dbs := make([]*DB, nodes)
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = open(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	var n int
	if err := dbs[0].db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations(dbs[0].Dialect())
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	if err := dbs[0].Check(ctx); err != nil {
		t.Fatal(err)
	}
}
