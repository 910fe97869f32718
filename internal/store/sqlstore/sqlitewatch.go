package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// watchInterval is how often a watcher asks SQLite whether another
// connection committed; PRAGMA data_version answers without touching a table.
const watchInterval = 100 * time.Millisecond

// changeBatch is how many change records a watcher reads at a time.
const changeBatch = 500

// sqliteWatcher follows the change log of one SQLite database for one
// Watch. SQLite serializes writers and the log's seq is AUTOINCREMENT, so
// seq is commit order without gaps: the watcher's position is the last seq
// it delivered, and a first record read that is not the next seq means the
// purge deleted records it never read, so it delivers Change{}.
type sqliteWatcher struct {
	env  watchEnv
	fn   func(store.Change)
	last int64 // seq of the last change delivered; -1 before the first read
}

func (*sqliteDialect) watch(ctx context.Context, env watchEnv, fn func(store.Change)) error {
	w := &sqliteWatcher{env: env, fn: fn, last: -1}
	var b backoff
	for {
		worked, err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if worked {
			b.reset()
		}
		env.log.failed(err)
		if !b.wait(ctx) {
			return nil
		}
	}
}

// session polls on one connection until it fails or ctx ends; worked
// reports whether a poll succeeded.
func (w *sqliteWatcher) session(ctx context.Context) (worked bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, w.env.lim.get())
	conn, err := w.env.db.Conn(cctx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("watch: %w", err)
	}
	defer conn.Close()
	if w.last < 0 {
		if err := w.start(ctx, conn); err != nil {
			return false, fmt.Errorf("watch: %w", err)
		}
	}
	// A new connection reads at once: changes may have been committed while
	// the last one failed.
	var version int64 = -1
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, w.env.lim.get())
		var v int64
		err := conn.QueryRowContext(cctx, `PRAGMA data_version`).Scan(&v)
		cancel()
		if err != nil {
			return worked, fmt.Errorf("watch: %w", err)
		}
		if v != version {
			version = v
			for {
				n, err := w.read(ctx, conn)
				if err != nil {
					version = -1
					return worked, fmt.Errorf("watch: %w", err)
				}
				if n < changeBatch {
					break
				}
			}
		}
		if !worked {
			worked = true
			w.env.log.recovered()
		}
		select {
		case <-ctx.Done():
			return worked, nil
		case <-tick.C:
		}
	}
}

// start sets the position after the newest change ever recorded, purged
// or not, and delivers Change{}.
func (w *sqliteWatcher) start(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, w.env.lim.get())
	defer cancel()
	var last int64
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`).Scan(&last); err != nil {
		return err
	}
	w.last = last
	// What committed before this position (after the process started,
	// while caches could already load) is not delivered: everything may
	// have changed.
	w.fn(store.Change{})
	return nil
}

// read delivers the next batch of changes after the position and returns
// how many it read.
func (w *sqliteWatcher) read(ctx context.Context, conn *sql.Conn) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.env.lim.get())
	defer cancel()
	rows, err := conn.QueryContext(ctx, `SELECT seq, team, kind, key FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, w.last, changeBatch)
	if err != nil {
		return 0, err
	}
	var (
		batch []store.Change
		last  = w.last
		gap   bool
	)
	for rows.Next() {
		var (
			seq int64
			c   store.Change
		)
		if err := rows.Scan(&seq, &c.Team, &c.Kind, &c.Key); err != nil {
			rows.Close()
			return 0, err
		}
		if len(batch) == 0 && seq != w.last+1 {
			gap = true
		}
		batch = append(batch, c)
		last = seq
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if gap {
		w.fn(store.Change{})
	} else {
		for _, c := range batch {
			w.fn(c)
		}
	}
	w.last = last
	return len(batch), nil
}
