package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// migrationLock is the advisory lock key that serializes migrations of
// nodes starting at once ("gatehous" in ASCII).
const migrationLock int64 = 0x6761746568_6f7573

// OpenPostgres connects to the PostgreSQL database at url and migrates it.
func OpenPostgres(ctx context.Context, url string, log *slog.Logger) (*DB, error) {
	return openPostgres(ctx, url, log, true)
}

func openPostgres(ctx context.Context, url string, log *slog.Logger, migrate bool) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: bad database URL: %w", err)
	}
	lim := newLimits()
	urlTimeout := cfg.ConnectTimeout
	db := stdlib.OpenDB(*cfg, stdlib.OptionBeforeConnect(func(_ context.Context, c *pgx.ConnConfig) error {
		c.ConnectTimeout = connectTimeout(urlTimeout, lim.get())
		return nil
	}))
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s, err := newDB(ctx, db, postgresDialect{cfg: cfg}, log, migrate)
	if err != nil {
		return nil, err
	}
	s.lim = lim
	return s, nil
}

// connectTimeout bounds a connection attempt by the store's timeout, or
// by the URL's connect_timeout if that is shorter.
func connectTimeout(fromURL, timeout time.Duration) time.Duration {
	if fromURL > 0 && fromURL < timeout {
		return fromURL
	}
	return timeout
}

type postgresDialect struct {
	cfg *pgx.ConnConfig
}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505": // unique_violation
		return store.ErrAlreadyExists
	case "23503": // foreign_key_violation
		return store.ErrNotFound
	case "22021": // character_not_in_repertoire: invalid UTF-8 or a NUL in text
		// No row holds such text, so it names none; writes never get
		// here, their names being validated first. SQLite compares the
		// bytes and finds nothing: the same answer.
		return store.ErrNotFound
	}
	if cause := pgUnavailable(pe.Code); cause != "" {
		return unavailable(cause, err)
	}
	return nil
}

// pgUnavailable names why PostgreSQL cannot serve, from an SQLSTATE that
// says so, or returns "".
func pgUnavailable(code string) string {
	switch code {
	case "57P01": // admin_shutdown
		return "the server is shutting down"
	case "57P02": // crash_shutdown
		return "the server crashed"
	case "57P03": // cannot_connect_now
		return "the server is starting or stopping"
	case "57014": // query_canceled: statement_timeout, or cancelled by an administrator
		return "statement cancelled by the server"
	case "55P03": // lock_not_available: lock_timeout
		return "lock not available"
	case "25006": // read_only_sql_transaction: a standby, or default_transaction_read_only
		return "the database is read-only"
	case "53100":
		return "disk full"
	case "53200":
		return "out of memory"
	case "53300":
		return "too many connections"
	}
	switch {
	case strings.HasPrefix(code, "08"): // connection_exception
		return "connection failure"
	case strings.HasPrefix(code, "53"): // insufficient_resources
		return "insufficient resources"
	case strings.HasPrefix(code, "58"): // system_error, io_error
		return "server I/O error"
	}
	return ""
}

// The payload separator cannot occur in team names, kinds or keys.
const payloadSep = "\x1f"

// changed records the change in the change log and announces it with
// NOTIFY, in one round trip. Both happen at commit, and not at all on
// rollback. The change log is what a listener reads after a reconnection,
// so that the changes announced while it was away are not lost.
func (postgresDialect) changed(ctx context.Context, x execer, c store.Change, now time.Time) error {
	_, err := x.ExecContext(ctx, `WITH logged AS (
			INSERT INTO changes (team, kind, key, at) VALUES ($1, $2, $3, $4))
		SELECT pg_notify($5, $6)`,
		c.Team, c.Kind, c.Key, ts(now), notifyChannel, c.Team+payloadSep+c.Kind+payloadSep+c.Key)
	return err
}

// Migrations run under a session advisory lock, so nodes starting at once
// against one database apply each step exactly once.
func (d postgresDialect) migrate(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil && err == nil {
			err = fmt.Errorf("release migration lock: %w", uerr)
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := applyMigrations(ctx, tx, d.name()); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// check confirms the schema is complete; PostgreSQL enforces the
// constraints itself and repairs its own storage from the WAL.
func (d postgresDialect) check(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(d.name())
	if err != nil {
		return err
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if want := ms[len(ms)-1].version; v != want {
		return fmt.Errorf("integrity check: schema version %d, want %d", v, want)
	}
	return nil
}

// purgeQuery finds the rows through the column's index and deletes them
// by ctid: a TID scan, whatever the table's key. (A row updated meanwhile
// has a new ctid and is left for the next batch.) A batch of the change
// log also remembers the newest transaction whose changes it deleted: a
// listener whose position is not past it may have missed one (listen.go).
func (postgresDialect) purgeQuery(table, column string) string {
	if table == "changes" {
		return `WITH batch AS (SELECT ctid, xid FROM changes WHERE ` + column + ` < $1 LIMIT $2),
			seen AS (UPDATE changes_purged SET xid = GREATEST(xid, (SELECT max(xid) FROM batch))
				WHERE EXISTS (SELECT 1 FROM batch))
			DELETE FROM changes WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch))`
	}
	return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + column + " < $1 LIMIT $2))"
}

// changeLog is true: changes travel by NOTIFY and are kept in the change
// log for listeners that were away.
func (postgresDialect) changeLog() bool { return true }

// folded: in byte order ("C"), whatever the database's collation, so that
// a prefix is a range of the index.
func (postgresDialect) folded(column string) string { return `(lower(` + column + `) COLLATE "C")` }

// contains: strpos, whose selectivity the planner guesses as a third, so
// that a page in index order stops early rather than sorting every row.
func (postgresDialect) contains(haystack, needle string) string {
	return "strpos(" + haystack + ", " + needle + ") > 0"
}

// jsonElements: jsonb_array_elements of the text column cast to jsonb.
func (postgresDialect) jsonElements(column string) (string, func(string) string, func(string) string) {
	return "jsonb_array_elements(" + column + "::jsonb) AS e",
		func(key string) string { return "coalesce(e ->> '" + key + "', '')" },
		func(key string) string { return "coalesce((e ->> '" + key + "')::boolean, false)" }
}

// unindexed: expr itself; PostgreSQL's planner goes by its statistics.
func (postgresDialect) unindexed(expr string) string { return expr }

// oneShot: the unnamed statement, which PostgreSQL plans at each call with
// its parameters, where a prepared statement turns to one generic plan
// after five.
func (postgresDialect) oneShot() []any { return []any{pgx.QueryExecModeExec} }
