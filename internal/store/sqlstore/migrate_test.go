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

// Migration 3 makes client names unique per team; clients of one team that
// an older database holds under one name keep working: all but the oldest
// are renamed "<name> (<client_id>)".
func TestMigrationRenamesDuplicateClientNames(t *testing.T) {
	for dialect, open := range map[string]func(t *testing.T) func() (*DB, error){
		"sqlite": func(t *testing.T) func() (*DB, error) {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			return func() (*DB, error) { return OpenSQLite(context.Background(), path, nil) }
		},
		"postgres": func(t *testing.T) func() (*DB, error) {
			url := pgtest.URL(t)
			return func() (*DB, error) { return OpenPostgres(context.Background(), url, nil) }
		},
	} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			reopen := open(t)
			db, err := reopen()
			if err != nil {
				t.Fatal(err)
			}
			// Back to version 2, as an older binary left it: the later
			// migrations undone.
			for _, stmt := range []string{
				`ALTER TABLE clients DROP COLUMN id_token_alg`,
				`ALTER TABLE clients DROP COLUMN post_logout_redirect_uris`,
				`ALTER TABLE auth_codes DROP COLUMN nonce`,
				`ALTER TABLE auth_codes DROP COLUMN auth_time`,
				`ALTER TABLE refresh_tokens DROP COLUMN auth_time`,
				`DROP INDEX audit_events_actor`,
				`DROP INDEX audit_events_action`,
				`DROP INDEX audit_events_target`,
				`DROP INDEX login_events_email`,
				`DROP INDEX users_email_folded`,
				`DROP INDEX users_name_folded`,
				`DROP INDEX user_groups_name_folded`,
				`DROP INDEX apps_name_folded`,
				`DROP INDEX clients_name_folded`,
				`DROP INDEX static_keys_last_used`,
				`DROP INDEX static_keys_owner_id`,
				`DROP TABLE sessions`,
				`DROP TABLE probe`,
				`DROP TABLE failure_counts`,
				`DROP INDEX audit_events_event_id`,
				`ALTER TABLE audit_events DROP COLUMN event_id`,
				`DROP INDEX clients_team_name`,
				`DELETE FROM schema_migrations WHERE version >= 3`,
				`INSERT INTO teams (name, created_at) VALUES ('alpha', 0), ('beta', 0)`,
			} {
				if _, err := db.db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			for _, c := range []struct {
				team, id, name string
				created        int64
			}{
				{"alpha", "c3", "etl", 1}, {"alpha", "c1", "etl", 1}, {"alpha", "c2", "etl", 0},
				{"alpha", "c4", "web", 5}, {"beta", "c5", "etl", 9},
			} {
				if _, err := db.db.ExecContext(ctx, `INSERT INTO clients (team, id, name, grant_types, auth_method, scopes, redirect_uris, created_at)
					VALUES ($1, $2, $3, 'client_credentials', 'client_secret_basic', 'audit.log:read', '', $4)`, c.team, c.id, c.name, c.created); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			if db, err = reopen(); err != nil {
				t.Fatalf("migrating a database with duplicate client names: %v", err)
			}
			defer db.Close()
			got := map[string]string{}
			rows, err := db.db.QueryContext(ctx, `SELECT team, id, name FROM clients`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var team, id, name string
				if err := rows.Scan(&team, &id, &name); err != nil {
					t.Fatal(err)
				}
				got[team+"/"+id] = name
			}
			rows.Close()
			want := map[string]string{
				"alpha/c2": "etl", "alpha/c1": "etl (c1)", "alpha/c3": "etl (c3)",
				"alpha/c4": "web", "beta/c5": "etl",
			}
			if len(got) != len(want) {
				t.Errorf("clients after migration: %v, want %v", got, want)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("client %s is named %q, want %q", k, got[k], w)
				}
			}
		})
	}
}
