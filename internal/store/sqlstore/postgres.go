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

// notifyChannel carries changes between nodes sharing one PostgreSQL.
const notifyChannel = "gatehouse_changes"

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
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return newDB(ctx, db, postgresDialect{cfg: cfg, log: log}, log, migrate)
}

type postgresDialect struct {
	cfg *pgx.ConnConfig
	log *slog.Logger
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
	}
	return nil
}

// The payload separator cannot occur in team names, kinds or keys.
const payloadSep = "\x1f"

func (postgresDialect) changed(ctx context.Context, x execer, c store.Change, _ time.Time) error {
	// NOTIFY inside a transaction is delivered at commit, and not at all on
	// rollback.
	_, err := x.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel,
		c.Team+payloadSep+c.Kind+payloadSep+c.Key)
	return err
}

func (d postgresDialect) watch(ctx context.Context, _ *sql.DB, fn func(store.Change)) error {
	backoff := 50 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := d.listen(ctx, fn, !first)
		if ctx.Err() != nil {
			return nil
		}
		first = false
		if d.log != nil {
			d.log.Warn("change listener lost its connection; reconnecting", "err", err, "backoff", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	return nil
}

// listen holds one LISTEN connection until it fails. After a reconnect the
// changes sent while it was away are lost, so it first announces Change{}
// ("everything may have changed").
func (d postgresDialect) listen(ctx context.Context, fn func(store.Change), flush bool) error {
	conn, err := pgx.ConnectConfig(ctx, d.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	if flush {
		fn(store.Change{})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		parts := strings.SplitN(n.Payload, payloadSep, 3)
		if len(parts) != 3 {
			continue
		}
		fn(store.Change{Team: parts[0], Kind: parts[1], Key: parts[2]})
	}
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
// has a new ctid and is left for the next batch.)
func (postgresDialect) purgeQuery(table, column string) string {
	return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + column + " < $1 LIMIT $2))"
}

// changeLog is false: changes travel by NOTIFY, nothing is kept.
func (postgresDialect) changeLog() bool { return false }
