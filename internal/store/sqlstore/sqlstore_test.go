package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetTimeout(suiteTimeout)
	return db
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.URL(t), nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetTimeout(suiteTimeout)
	return db
}

// suiteTimeout is the store timeout of the conformance suite, which checks
// what the store does, not how fast: some of its transactions write and
// read a hundred records, which under the race detector on a busy machine
// takes longer than the default. fault_test.go checks the timeout.
const suiteTimeout = 30 * time.Second

func TestConformanceSQLite(t *testing.T)   { storetest.Run(t, openSQLite) }
func TestConformancePostgres(t *testing.T) { storetest.Run(t, openPostgres) }
