// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite,
// no cgo) and PostgreSQL (pgx through database/sql).
//
// The queries are written once: both engines accept the same SQL with $N
// placeholders, which modernc's driver binds by ordinal. What differs per
// engine is kept in its dialect: the schema migrations (migrations/<dialect>),
// error classification, how a write announces its change to other processes
// (a change-log table on both; NOTIFY too on PostgreSQL) and how watchers
// hear of it.
//
// Every operation is bounded by a timeout (SetTimeout), and an error that
// means the database cannot answer now wraps store.ErrUnavailable
// (fault.go). Watchers ride out database failures and catch up from their
// position in the change log (listen.go, sqlitewatch.go).
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// dialect is what differs between engines.
type dialect interface {
	name() string
	// classify maps an engine error to store.ErrAlreadyExists,
	// store.ErrNotFound (a foreign key names a missing record), an error
	// made by unavailable (the engine says it cannot serve now: shutting
	// down, read-only, disk full) or nil. Timeouts and broken connections
	// are recognised for every engine in fault.go.
	classify(err error) error
	// changed announces a change from inside the writing transaction, so
	// that it is delivered if and only if the transaction commits.
	changed(ctx context.Context, x execer, c store.Change, now time.Time) error
	// watch delivers every committed change until ctx ends, riding out
	// failures of the database: it returns only when ctx ends.
	watch(ctx context.Context, w watchEnv, fn func(store.Change)) error
	migrate(ctx context.Context, db *sql.DB) error
	check(ctx context.Context, db *sql.DB) error
	// purgeQuery deletes up to $2 rows of table whose column is before
	// $1, found through the column's index and deleted by their physical
	// row id, which every table has whatever its key.
	purgeQuery(table, column string) string
	// changeLog tells whether the engine keeps a change log table.
	changeLog() bool
	// folded is the expression of column with ASCII letters lower-cased,
	// compared byte by byte whatever the database's collation, as the
	// indexes of migration 0010 hold it: what a prefix search compares.
	folded(column string) string
	// contains is the condition that needle (a parameter) is a substring
	// of haystack, exactly.
	contains(haystack, needle string) string
	// jsonElements reads the elements of column, a JSON array of
	// objects: the FROM item of a subquery, and the expressions of an
	// element's string member (as text, "" when missing) and boolean
	// member (false when missing).
	jsonElements(column string) (from string, text, boolean func(key string) string)
	// unindexed is expr as no index serves it, so that the planner reads
	// a page in the order of another index rather than through expr's.
	unindexed(expr string) string
	// oneShot is what goes before a query's arguments so that the query
	// is planned for its values every time: the directory queries
	// (query.go), where how many records a condition selects depends on
	// its values ("user-0424" or "user-0"), and one plan for all of them,
	// which a prepared statement comes to after a few calls, reads a
	// whole team to sort it where another reads one page.
	oneShot() []any
}

// execer is what a query needs: a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is a store.Store on one database.
type DB struct {
	queries
	db  *sql.DB
	log *slog.Logger
}

// watchEnv is what a dialect's watch works with.
type watchEnv struct {
	db  *sql.DB
	lim *limits
	log *faultLog
	// Tests set these: how often a PostgreSQL listener checks its
	// connection (0: listenCheck), and a function told of every move of its
	// position.
	listenCheck time.Duration
	moved       func(pos uint64)
}

var _ store.Store = (*DB)(nil)

// queries runs every store.Queries method on x; tx is set inside Store.Tx.
type queries struct {
	d   dialect
	x   execer
	db  *sql.DB // non-nil outside a transaction: writes open their own
	now func() time.Time
	lim *limits
}

// Open opens the database named by databaseURL (postgres:// or
// postgresql://), or else the SQLite file at sqlitePath, and brings its
// schema up to date.
func Open(ctx context.Context, databaseURL, sqlitePath string, log *slog.Logger) (*DB, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL, log)
	}
	return OpenSQLite(ctx, sqlitePath, log)
}

// ErrNoDatabase reports that OpenExisting found no SQLite database file.
var ErrNoDatabase = errors.New("no database")

// OpenExisting opens a database that "gatehouse migrate" or "gatehouse
// serve" made before: the SQLite file at sqlitePath must exist (nothing is
// created) and either engine's schema must be at this binary's version
// (nothing is migrated). A missing file is an error wrapping ErrNoDatabase
// that names it; a schema behind this binary's says to run migrate.
func OpenExisting(ctx context.Context, databaseURL, sqlitePath string, log *slog.Logger) (*DB, error) {
	if databaseURL != "" {
		return openPostgres(ctx, databaseURL, log, false)
	}
	return openSQLite(ctx, sqlitePath, log, false)
}

func newDB(ctx context.Context, db *sql.DB, d dialect, log *slog.Logger, migrate bool) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.name(), err)
	}
	if migrate {
		if err := d.migrate(ctx, db); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate %s: %w", d.name(), err)
		}
	} else if err := schemaCurrent(ctx, db, d.name()); err != nil {
		db.Close()
		return nil, err
	}
	return &DB{queries: queries{d: d, x: db, db: db, now: time.Now, lim: newLimits()}, db: db, log: log}, nil
}

// Dialect names the engine: "sqlite" or "postgres".
func (s *DB) Dialect() string { return s.d.name() }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) (err error) {
	ctx, end := s.op(ctx)
	defer end(&err)
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name(), err)
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name(), err)
	}
	return nil
}

// Check runs the engine's integrity check. It reads the whole database, so
// only the caller's context bounds it.
func (s *DB) Check(ctx context.Context) error { return s.d.check(ctx, s.db) }

// Watch delivers every committed change until ctx ends. While the
// database cannot be reached it keeps trying, logging at most one line a
// minute, and once it can it delivers what changed meanwhile (or, if the
// change log no longer holds all of it, Change{}).
func (s *DB) Watch(ctx context.Context, fn func(store.Change)) error {
	return s.d.watch(ctx, watchEnv{db: s.db, lim: s.lim,
		log: &faultLog{log: s.log, what: "change listener", now: time.Now}}, fn)
}

// Tx runs fn in one transaction, bounded as a whole by the store's timeout
// (each operation in it is bounded too).
func (s *DB) Tx(ctx context.Context, fn func(q store.Queries) error) (err error) {
	ctx, end := s.op(ctx)
	defer end(&err)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	finished := false
	defer func() {
		if !finished {
			tx.Rollback() // fn panicked: never leave the write lock held
		}
	}()
	err = fn(&queries{d: s.d, x: tx, now: s.now, lim: s.lim})
	finished = true
	if err != nil {
		// ErrTxDone: the bound ran out and database/sql rolled it back.
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// write runs fn in the current transaction, or in a new one outside Tx.
func (q *queries) write(ctx context.Context, fn func(x execer) error) error {
	if q.db == nil {
		return fn(q.x)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// changed records a change inside the writing transaction x.
func (q *queries) changed(ctx context.Context, x execer, team, kind, key string) error {
	if err := q.d.changed(ctx, x, store.Change{Team: team, Kind: kind, Key: key}, q.now()); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// fail wraps an engine error with what was being done, translating
// constraint violations to the store's errors.
func (q *queries) fail(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if c := q.d.classify(err); c != nil {
		return fmt.Errorf("%s: %w", what, c)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// affected turns "no row changed" into ErrNotFound.
func affected(what string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Times are stored as Unix microseconds in UTC.
func ts(t time.Time) int64 { return t.UnixMicro() }

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullTS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullTS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTS(v.Int64)
	return &t
}

// optionalTS stores a time that may be unknown (zero) as NULL.
func optionalTS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromOptionalTS reads what optionalTS stored: NULL is the zero time.
func fromOptionalTS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromTS(v.Int64)
}

// Lists of space-free tokens are stored space-separated.
func joinList(l []string) string { return strings.Join(l, " ") }

func splitList(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return f
}

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func pageSize(p store.Page) int {
	switch {
	case p.Limit <= 0:
		return defaultPageSize
	case p.Limit > maxPageSize:
		return maxPageSize
	}
	return p.Limit
}

// Cursors are opaque to callers: the last key of the page, base64url.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// decodeCursor reads a cursor of one key. A key is text the store wrote
// (UTF-8, no NUL): anything else is no cursor it made, and would make
// PostgreSQL refuse the query.
func decodeCursor(c string) (string, error) {
	parts, err := decodeCursorParts(c, 1)
	if err != nil {
		return "", err
	}
	return parts[0], nil
}

// decodeCursorParts reads a cursor of n keys joined by NUL; "" is the
// first page (n empty keys).
func decodeCursorParts(c string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !utf8.Valid(b) {
		return nil, fmt.Errorf("bad cursor: %w", store.ErrInvalid)
	}
	if len(b) == 0 {
		return make([]string, n), nil
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != n {
		return nil, fmt.Errorf("bad cursor: %w", store.ErrInvalid)
	}
	return parts, nil
}
