package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// OpenSQLite opens (creating it if needed) the SQLite database at path in
// WAL mode with foreign keys on, a busy timeout, full fsync on commit and
// immediate write transactions, and migrates it. A directory it creates is
// 0700; the database and its -wal and -shm files are 0600, those found
// wider are made so (and logged).
func OpenSQLite(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return openSQLite(ctx, path, log, true)
}

// openSQLite opens the database at path; with create false it must exist
// and its schema be current.
//
// Every connection is opened read-write (mode=rw), never created by
// SQLite: a missing file is made here, empty, when create is true. SQLite
// still opens a file it may not write read-only without a word, so the
// connections are watched (sqliteConnector): one opened read-only is never
// reused, and an error that says the file cannot be written (read-only,
// disk full, I/O, cannot open) retires every connection open at the time.
// Fixing the cause (permissions, space) so heals a running server: the
// connections opened after it are sound.
func openSQLite(ctx context.Context, path string, log *slog.Logger, create bool) (*DB, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // errors name the file wherever the process was started
	}
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// An empty file is an empty database.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			f.Close()
		case !errors.Is(err, fs.ErrExist):
			return nil, fmt.Errorf("open sqlite: %w", &sqliteFault{
				msg: fmt.Sprintf("database %s cannot be created (%s)", path, hint(path, "check that its directory is writable")), cause: err})
		}
	} else if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoDatabase, path)
		}
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Owner only, before SQLite opens anything: the -wal and -shm files it
	// makes then take the database file's 0600.
	if err := tightenModes(path, log); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "rw") // never create the file, even if it vanished since
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
	base, err := sqlite.NewConnector("file:" + path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	conns := &sqliteConnector{Connector: base, path: path}
	db := sql.OpenDB(conns)
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
	// Again, for a -wal or -shm file that another process made meanwhile
	// from a database file that was still open to others.
	if err := tightenModes(path, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return newDB(ctx, db, &sqliteDialect{path: path, conns: conns}, log, create)
}

// sqliteDialect is SQLite's: the file at path, reached through conns.
type sqliteDialect struct {
	path  string
	conns *sqliteConnector
}

func (*sqliteDialect) name() string { return "sqlite" }

func (d *sqliteDialect) classify(err error) error {
	if f := fault(d.path, err); f != nil {
		return f
	}
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

// probe writes the probe row from a connection of its own, so that it
// finds what a new connection would: a file made read-only since the
// pool's connections were opened is found within one probe, and the
// connections are then retired (check), so that requests and readiness
// agree. Before that it checks the free space of the file system, which
// the space SQLite already holds in its write-ahead log can hide.
func (d *sqliteDialect) probe(ctx context.Context, db *sql.DB, now time.Time) error {
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	if f := diskFull(d.path); f != nil {
		return f
	}
	c, err := d.conns.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.(*sqliteConn).ExecContext(ctx, probeSQL, []driver.NamedValue{{Ordinal: 1, Value: ts(now)}})
	return err
}

// sqliteFault is a SQLite error that means the database cannot take
// writes (or any request) now, because of the file's state: it wraps
// store.ErrUnavailable and the cause, and its message names the file and
// what to check.
type sqliteFault struct {
	msg   string
	cause error // nil when the fault was found without an error
}

func (f *sqliteFault) Error() string {
	if f.cause == nil {
		return f.msg
	}
	return f.msg + ": " + f.cause.Error()
}

func (f *sqliteFault) Unwrap() []error {
	if f.cause == nil {
		return []error{store.ErrUnavailable}
	}
	return []error{store.ErrUnavailable, f.cause}
}

// fault classifies err: a *sqliteFault when it is the file's state that
// failed the operation (read-only, disk full, cannot open, permission,
// I/O, locked), nil for any other error.
func fault(path string, err error) *sqliteFault {
	if err == nil {
		return nil
	}
	var f *sqliteFault
	if errors.As(err, &f) {
		return f
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	var msg string
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY:
		msg = fmt.Sprintf("database %s is read-only (%s)", path,
			hint(path, "check the permissions of the file, of its -wal and -shm files and of its directory"))
	case sqlite3.SQLITE_FULL:
		msg = fmt.Sprintf("database %s: disk full (%s)", path, hint(path, "free space on its file system"))
	case sqlite3.SQLITE_CANTOPEN:
		msg = fmt.Sprintf("database %s cannot be opened (%s)", path,
			hint(path, "check that its directory exists and that it, the file and its -wal and -shm files are readable and writable"))
	case sqlite3.SQLITE_PERM:
		msg = fmt.Sprintf("database %s: permission denied (%s)", path, hint(path, "check file and directory permissions"))
	case sqlite3.SQLITE_IOERR:
		msg = fmt.Sprintf("database %s: I/O error (%s)", path, hint(path, "check the disk and its file system"))
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		msg = fmt.Sprintf("database %s is locked by another connection", path)
	default:
		return nil
	}
	return &sqliteFault{msg: msg, cause: err}
}

// reopens tells whether a connection that met err must not be used again,
// nor any connection open at the time: SQLite may have opened the file
// read-only, or a write of it failed.
func reopens(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR:
		return true
	}
	return false
}

// hint is what diagnose finds wrong with the database's files, followed by
// advice, or the advice alone.
func hint(path, advice string) string {
	if d := diagnose(path); d != "" {
		return d + "; " + advice
	}
	return advice
}

// minFreeBytes is the free space below which the probe reports the
// database's file system full.
const minFreeBytes = 1 << 20

// diskFull is a fault when the file system of the database at path has
// less than minFreeBytes free for this process, else nil (also when the
// free space cannot be read).
func diskFull(path string) *sqliteFault {
	dir := filepath.Dir(path)
	free, err := freeBytes(dir)
	if err != nil || free >= minFreeBytes {
		return nil
	}
	return &sqliteFault{msg: fmt.Sprintf("database %s: disk full (%d bytes free on the file system of %s)", path, free, dir)}
}

// sqliteConnector opens the connections of one database file and watches
// them: a connection SQLite opened read-only (the file or its directory
// is not writable) serves one use and is closed, and a fault that may
// have left connections unable to write (reopens) retires every connection
// open at the time, by moving the generation on. database/sql asks each
// connection before reusing it (ResetSession) and before putting it back
// (IsValid); a retired one answers driver.ErrBadConn or false, and is
// closed and replaced.
type sqliteConnector struct {
	driver.Connector
	path string
	gen  atomic.Uint64
}

// driverConn is what every connection of modernc.org/sqlite provides and
// a wrapper must pass on (sqlite.NewConnector's documentation).
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, c.check(err)
	}
	inner, ok := dc.(driverConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlite: connection type %T lacks a method database/sql needs", dc)
	}
	conn := &sqliteConn{inner: inner, c: c, gen: c.gen.Load()}
	if ro, ok := dc.(interface{ IsReadOnly(string) (bool, error) }); ok {
		if r, err := ro.IsReadOnly("main"); err == nil && r {
			conn.readOnly = true
		}
	}
	return conn, nil
}

// check returns err, classified as a *sqliteFault if it is one; a fault
// that reopens retires every connection open now.
func (c *sqliteConnector) check(err error) error {
	if err == nil {
		return nil
	}
	if reopens(err) {
		c.gen.Add(1)
	}
	if f := fault(c.path, err); f != nil {
		return f
	}
	return err
}

// sqliteConn is one connection of a sqliteConnector.
type sqliteConn struct {
	inner    driverConn
	c        *sqliteConnector
	gen      uint64
	readOnly bool // SQLite opened the file read-only
}

// retired tells whether the connection must not be used again.
func (s *sqliteConn) retired() bool { return s.readOnly || s.gen != s.c.gen.Load() }

func (s *sqliteConn) Unwrap() driver.Conn { return s.inner }

func (s *sqliteConn) Close() error { return s.inner.Close() }

func (s *sqliteConn) Prepare(query string) (driver.Stmt, error) {
	return s.PrepareContext(context.Background(), query)
}

func (s *sqliteConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := s.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, s.c.check(err)
	}
	return st, nil
}

func (s *sqliteConn) Begin() (driver.Tx, error) {
	return s.BeginTx(context.Background(), driver.TxOptions{})
}

func (s *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := s.inner.BeginTx(ctx, opts)
	if err != nil {
		return nil, s.c.check(err)
	}
	return &sqliteTx{inner: tx, c: s.c}, nil
}

func (s *sqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.inner.ExecContext(ctx, query, args)
	if err != nil {
		return nil, s.c.check(err)
	}
	return r, nil
}

func (s *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.inner.QueryContext(ctx, query, args)
	if err != nil {
		return nil, s.c.check(err)
	}
	return r, nil
}

func (s *sqliteConn) Ping(ctx context.Context) error { return s.c.check(s.inner.Ping(ctx)) }

func (s *sqliteConn) ResetSession(ctx context.Context) error {
	if s.retired() {
		return driver.ErrBadConn
	}
	return s.inner.ResetSession(ctx)
}

func (s *sqliteConn) IsValid() bool { return !s.retired() && s.inner.IsValid() }

// sqliteTx is a transaction of a sqliteConn: a commit is where a write
// meets a full disk or a read-only file.
type sqliteTx struct {
	inner driver.Tx
	c     *sqliteConnector
}

func (t *sqliteTx) Commit() error   { return t.c.check(t.inner.Commit()) }
func (t *sqliteTx) Rollback() error { return t.c.check(t.inner.Rollback()) }

func (*sqliteDialect) changed(ctx context.Context, x execer, c store.Change, now time.Time) error {
	_, err := x.ExecContext(ctx, `INSERT INTO changes (team, kind, key, at) VALUES ($1, $2, $3, $4)`,
		c.Team, c.Kind, c.Key, ts(now))
	return err
}

// Migrations run in one immediate transaction: SQLite's write lock keeps a
// second process out until the first has finished.
func (d *sqliteDialect) migrate(ctx context.Context, db *sql.DB) error {
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

func (*sqliteDialect) check(ctx context.Context, db *sql.DB) error {
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

// purgeQuery finds the rows through the column's index and deletes them
// by rowid (every table here has one: none is WITHOUT ROWID).
func (sqliteDialect) purgeQuery(table, column string) string {
	return "DELETE FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table + " WHERE " + column + " < $1 LIMIT $2)"
}

func (sqliteDialect) changeLog() bool { return true }

// folded: SQLite's lower() folds ASCII letters only, and its default
// collation is byte order.
func (sqliteDialect) folded(column string) string { return "lower(" + column + ")" }

func (sqliteDialect) contains(haystack, needle string) string {
	return "instr(" + haystack + ", " + needle + ") > 0"
}

// jsonElements: json_each, whose json_extract gives a JSON true as 1.
func (sqliteDialect) jsonElements(column string) (string, func(string) string, func(string) string) {
	return "json_each(" + column + ") AS e",
		func(key string) string { return "coalesce(json_extract(e.value, '$." + key + "'), '')" },
		func(key string) string { return "coalesce(json_extract(e.value, '$." + key + "'), 0)" }
}

// unindexed: SQLite's unary plus, which keeps a term from using an index.
func (sqliteDialect) unindexed(expr string) string { return "+" + expr }

// oneShot: nothing; SQLite's plans do not weigh the parameters' values.
func (sqliteDialect) oneShot() []any { return nil }
