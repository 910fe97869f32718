package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema step of a dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists a dialect's migrations in version order.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and '_'", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// applyMigrations applies, in x, every migration not yet recorded. The
// caller holds whatever lock keeps other processes out.
func applyMigrations(ctx context.Context, x execer, dialect string) error {
	ms, err := migrations(dialect)
	if err != nil {
		return err
	}
	if _, err := x.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := x.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if int(current.Int64) > latest {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade gatehouse", current.Int64, latest)
	}
	for _, m := range ms {
		if m.version <= int(current.Int64) {
			continue
		}
		if _, err := x.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("record %s: %w", m.name, err)
		}
	}
	return nil
}

// schemaCurrent checks, without changing anything, that the database has
// every migration of this binary and none newer.
func schemaCurrent(ctx context.Context, db *sql.DB, dialect string) error {
	ms, err := migrations(dialect)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	var current sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil || !current.Valid {
		return fmt.Errorf("the %s database has no Gatehouse schema: run \"gatehouse migrate\" first", dialect)
	}
	switch v := int(current.Int64); {
	case v < latest:
		return fmt.Errorf("the %s database's schema is at version %d, this binary's at %d: run \"gatehouse migrate\" first", dialect, v, latest)
	case v > latest:
		return fmt.Errorf("the %s database's schema version %d is newer than this binary's %d: upgrade gatehouse", dialect, v, latest)
	}
	return nil
}
