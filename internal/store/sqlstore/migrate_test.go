package sqlstore

import (
	"context"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/store"
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

// undo0015 takes a database back to before migration 0015 (the static
// keys' indexes in creation order).
func undo0015() []string {
	return []string{
		`DROP INDEX static_keys_created`,
		`DROP INDEX static_keys_owner_created`,
		`CREATE INDEX static_keys_owner_id ON static_keys (team, kind, owner, id)`,
		`DELETE FROM schema_migrations WHERE version >= 15`,
	}
}

// undo0014 takes a database of dialect back to before migration 0014 (the
// directory counts and their triggers; the folded-email index it dropped).
func undo0014(dialect string) []string {
	if dialect == "postgres" {
		return []string{
			`DROP TRIGGER users_count ON users`,
			`DROP TRIGGER user_groups_count ON user_groups`,
			`DROP FUNCTION directory_count`,
			`DROP TABLE directory_counts`,
			`CREATE INDEX users_email_folded ON users (team, (lower(email) COLLATE "C"))`,
			`DELETE FROM schema_migrations WHERE version >= 14`,
		}
	}
	return []string{
		`DROP TRIGGER users_count_insert`,
		`DROP TRIGGER users_count_delete`,
		`DROP TRIGGER user_groups_count_insert`,
		`DROP TRIGGER user_groups_count_delete`,
		`DROP TABLE directory_counts`,
		`CREATE INDEX users_email_folded ON users (team, lower(email))`,
		`DELETE FROM schema_migrations WHERE version >= 14`,
	}
}

// undo0013 takes a database back to before migration 0013 (the history
// listings' indexes).
func undo0013() []string {
	return []string{
		`DROP INDEX audit_events_actor`,
		`DROP INDEX audit_events_action`,
		`DROP INDEX audit_events_target`,
		`DROP INDEX login_events_email`,
		`DELETE FROM schema_migrations WHERE version >= 13`,
	}
}

// undo0012 takes a database of dialect back to before migration 0012, as
// an older binary left it.
func undo0012(dialect string) []string {
	folded := "lower(name)"
	if dialect == "postgres" {
		folded = `(lower(name) COLLATE "C")`
	}
	return []string{
		`DROP INDEX users_external_id`,
		`DROP INDEX users_created`,
		`DROP INDEX users_updated`,
		`DROP INDEX user_groups_id`,
		`DROP INDEX user_groups_external_id`,
		`DROP INDEX user_groups_created`,
		`DROP INDEX user_groups_updated`,
		`ALTER TABLE users DROP COLUMN external_id`,
		`ALTER TABLE users DROP COLUMN given_name`,
		`ALTER TABLE users DROP COLUMN family_name`,
		`ALTER TABLE users DROP COLUMN emails`,
		`ALTER TABLE users DROP COLUMN updated_at`,
		`ALTER TABLE user_groups DROP COLUMN id`,
		`ALTER TABLE user_groups DROP COLUMN external_id`,
		`ALTER TABLE user_groups DROP COLUMN updated_at`,
		`DROP INDEX users_name_folded`,
		`CREATE INDEX users_name_folded ON users (team, ` + folded + `)`,
		`DROP INDEX group_members_user`,
		`CREATE INDEX group_members_user ON group_members (team, user_id)`,
		`DELETE FROM schema_migrations WHERE version >= 12`,
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
			for _, stmt := range append(append(append(append(undo0015(), undo0014(dialect)...), undo0013()...), undo0012(dialect)...),
				`ALTER TABLE clients DROP COLUMN id_token_alg`,
				`ALTER TABLE clients DROP COLUMN post_logout_redirect_uris`,
				`ALTER TABLE auth_codes DROP COLUMN nonce`,
				`ALTER TABLE auth_codes DROP COLUMN auth_time`,
				`ALTER TABLE refresh_tokens DROP COLUMN auth_time`,
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
			) {
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

// Migration 0012 gives every group made before it an ID of its own, a
// random UUID, and users and groups the time of their last change: their
// creation.
func TestMigrationGivesGroupsIDs(t *testing.T) {
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
			for _, stmt := range append(append(append(append(undo0015(), undo0014(dialect)...), undo0013()...), undo0012(dialect)...),
				`INSERT INTO teams (name, created_at) VALUES ('alpha', 0)`,
				`INSERT INTO users (team, id, email, name, password_hash, team_admin, disabled, created_at)
					VALUES ('alpha', 'u1', 'ann@example.com', 'Ann', '', false, false, 42)`,
				`INSERT INTO user_groups (team, name, created_at) VALUES ('alpha', 'ops', 7), ('alpha', 'dev', 8), ('alpha', 'Sales Team', 9)`,
			) {
				if _, err := db.db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			db.Close()
			if db, err = reopen(); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
			gs, _, err := db.ListGroups(ctx, "alpha", store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, g := range gs {
				if !uuidRE.MatchString(g.ID) || seen[g.ID] || !g.UpdatedAt.Equal(g.CreatedAt) {
					t.Errorf("group %q after the migration: ID %q (seen: %v), updated %v, created %v", g.Name, g.ID, seen[g.ID], g.UpdatedAt, g.CreatedAt)
				}
				seen[g.ID] = true
				if got, err := db.GroupByID(ctx, "alpha", g.ID); err != nil || got.Name != g.Name {
					t.Errorf("GroupByID(%q) = %+v, %v", g.ID, got, err)
				}
			}
			if len(gs) != 3 {
				t.Errorf("%d groups, want 3", len(gs))
			}
			u, err := db.User(ctx, "alpha", "u1")
			if err != nil || !u.UpdatedAt.Equal(u.CreatedAt) || u.Emails != nil || u.ExternalID != "" {
				t.Errorf("user after the migration: %+v, %v", u, err)
			}
			// Migration 0014 counted what the team already had.
			if _, n, err := db.QueryUsers(ctx, "alpha", store.Query{Limit: 10}); err != nil || n != 1 {
				t.Errorf("QueryUsers after the migration: total %d, %v; want 1", n, err)
			}
			if _, n, err := db.QueryGroups(ctx, "alpha", store.Query{Limit: 10}); err != nil || n != 3 {
				t.Errorf("QueryGroups after the migration: total %d, %v; want 3", n, err)
			}
		})
	}
}
