package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// OpenSQLite opens (creating it if needed) the SQLite database at path in
// WAL mode with foreign keys on, a busy timeout, full fsync on commit and
// immediate write transactions, and migrates it.
func OpenSQLite(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return openSQLite(ctx, path, log, true)
}

// openSQLite opens the database at path; with create false it must exist
// and its schema be current.
func openSQLite(ctx context.Context, path string, log *slog.Logger, create bool) (*DB, error) {
	q := url.Values{}
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	} else {
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			if abs, aerr := filepath.Abs(path); aerr == nil {
				path = abs
			}
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w at %s", ErrNoDatabase, path)
			}
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		q.Set("mode", "rw") // never create the file, even if it vanished since
	}
	for _, p := range []string{
		// The busy timeout first: switching to WAL takes a lock that
		// another process may hold.
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"journal_mode(WAL)",
		// FULL: a commit that returned survives power loss too, not only a
		// crash of the process.
		"synchronous(FULL)",
	} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
	// the busy timeout instead of failing on a lock upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	// Switching a new file to WAL takes a lock for which SQLite does not
	// call the busy handler: a process opening the file while another one
	// switches it gets SQLITE_BUSY at once. Try again within the busy
	// timeout.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	return newDB(ctx, db, sqliteDialect{}, log, create)
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return store.ErrNotFound
	}
	return nil
}

func (sqliteDialect) changed(ctx context.Context, x execer, c store.Change, now time.Time) error {
	_, err := x.ExecContext(ctx, `INSERT INTO changes (team, kind, key, at) VALUES ($1, $2, $3, $4)`,
		c.Team, c.Kind, c.Key, ts(now))
	return err
}

// Migrations run in one immediate transaction: SQLite's write lock keeps a
// second process out until the first has finished.
func (d sqliteDialect) migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := applyMigrations(ctx, tx, d.name()); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (sqliteDialect) check(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	fk, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	for fk.Next() {
		problems = append(problems, "foreign key violation")
	}
	fk.Close()
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// changeRetention is how long the change log keeps records: far longer than
// any watcher takes to read them.
const changeRetention = time.Hour

func (sqliteDialect) purge(ctx context.Context, x execer, now time.Time) error {
	if err := purgeCommon(ctx, x, now); err != nil {
		return err
	}
	_, err := x.ExecContext(ctx, `DELETE FROM changes WHERE at < $1`, ts(now.Add(-changeRetention)))
	return err
}
