package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/store"
)

// How a PostgreSQL listener misses nothing.
//
// Every write records its changes in the changes table and announces them
// with NOTIFY, both at commit. A listener holds one connection that
// LISTENs and hands on what is announced. If that connection fails, the
// announcements sent meanwhile are lost, so the listener keeps a position
// in the change log and, once connected again, LISTENs first and then
// reads from the log every change recorded since the position: whatever
// commits after the LISTEN is announced, whatever committed before it is
// read.
//
// A sequence number cannot be the position, because transactions commit
// out of order: one that took number 10 may commit after one that took 11,
// and a reader that has seen 11 would skip 10. The position is therefore
// a transaction ID horizon: every change written by a transaction whose ID
// is below it has been delivered. Each change row holds its transaction's
// ID; reading at a snapshot whose xmin (the oldest transaction still
// running) is h delivers every committed change of a transaction below h,
// so h becomes the position. Changes of transactions at or above h that
// had already committed are delivered again at the next read: invalidation
// is idempotent, so that costs a reload and loses nothing.
//
// While connected, the listener asks for the horizon every listenCheck,
// which also proves the connection alive (a dead network otherwise looks
// like a quiet one). The position moves to the horizon of the check before
// the last, not the last: by then every transaction below it has long
// signalled its NOTIFY, which PostgreSQL sends before the answer to the
// next query, so it has been received.
//
// The purge deletes change records older than store.ChangeLogRetention and
// remembers the highest transaction ID it deleted. If that is at or above
// the listener's position, changes it never saw may be gone, and it
// delivers Change{} (everything may have changed) instead; it does so too
// when more than catchUpMax changes wait, which is cheaper than each of
// them.

// listenCheck is how often a listener checks its connection and moves its
// position while nothing else happens.
const listenCheck = time.Second

// catchUpMax is the most changes a listener delivers one by one after a
// reconnection; past it, Change{}.
const catchUpMax = 10000

// notifyChannel carries changes between nodes sharing one PostgreSQL.
const notifyChannel = "gatehouse_changes"

// pgListener follows one PostgreSQL database's changes for one Watch.
type pgListener struct {
	cfg *pgx.ConnConfig
	env watchEnv
	fn  func(store.Change)

	pos  uint64 // every change by a transaction below it is delivered; 0: no connection yet
	next uint64 // the horizon of the last check, the position at the next
}

func (d postgresDialect) watch(ctx context.Context, env watchEnv, fn func(store.Change)) error {
	l := &pgListener{cfg: d.cfg, env: env, fn: fn}
	var b backoff
	for {
		connected, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			b.reset()
		}
		env.log.failed(err)
		if !b.wait(ctx) {
			return nil
		}
	}
}

func (l *pgListener) timeout() time.Duration { return l.env.lim.get() }

func (l *pgListener) check() time.Duration {
	if l.env.listenCheck > 0 {
		return l.env.listenCheck
	}
	return listenCheck
}

// session holds one connection until it fails or ctx ends; connected
// reports whether it got as far as listening and catching up.
func (l *pgListener) session(ctx context.Context) (connected bool, err error) {
	cfg := l.cfg.Copy()
	cfg.ConnectTimeout = connectTimeout(cfg.ConnectTimeout, l.timeout())
	cctx, cancel := context.WithTimeout(ctx, l.timeout())
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		l.drain(conn)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout())
		conn.Close(cctx)
		cancel()
	}()

	cctx, cancel = context.WithTimeout(ctx, l.timeout())
	_, err = conn.Exec(cctx, "LISTEN "+notifyChannel)
	cancel()
	if err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if err := l.catchUp(ctx, conn); err != nil {
		return false, fmt.Errorf("catch up: %w", err)
	}
	l.env.log.recovered()

	checkAt := time.Now().Add(l.check())
	for {
		wctx, cancel := context.WithDeadline(ctx, checkAt)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			l.deliver(n.Payload)
		}
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return true, nil
		case wctx.Err() == nil:
			return true, fmt.Errorf("wait for changes: %w", err)
		}
		h, err := l.horizon(ctx, conn)
		if err != nil {
			return true, fmt.Errorf("check the connection: %w", err)
		}
		l.move(l.next)
		l.next = h
		checkAt = time.Now().Add(l.check())
	}
}

// catchUp sets the position on the first connection, and on a later one
// delivers what was recorded since the position (or Change{}).
func (l *pgListener) catchUp(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout())
	defer cancel()
	// One snapshot for the horizon and the rows.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var h, purged uint64
	if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
		(SELECT xid::text::bigint FROM changes_purged)`).Scan(&h, &purged); err != nil {
		return err
	}
	if l.pos == 0 {
		// The first connection: whatever committed before it listened
		// (after the process started, while caches could already load)
		// is not delivered, so everything may have changed.
		l.move(h)
		l.next = h
		l.fn(store.Change{})
		return nil
	}
	flush := purged >= l.pos
	var changes []store.Change
	if !flush {
		rows, err := tx.Query(ctx, `SELECT team, kind, key FROM changes
			WHERE xid >= $1::text::xid8 ORDER BY seq LIMIT $2`, strconv.FormatUint(l.pos, 10), catchUpMax+1)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c store.Change
			if err := rows.Scan(&c.Team, &c.Kind, &c.Key); err != nil {
				rows.Close()
				return err
			}
			changes = append(changes, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		flush = len(changes) > catchUpMax
	}
	if flush {
		l.fn(store.Change{})
	} else {
		for _, c := range changes {
			l.fn(c)
		}
	}
	l.move(h)
	l.next = h
	return nil
}

// horizon asks for the current snapshot's xmin.
func (l *pgListener) horizon(ctx context.Context, conn *pgx.Conn) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout())
	defer cancel()
	var h uint64
	err := conn.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&h)
	return h, err
}

func (l *pgListener) move(pos uint64) {
	if pos <= l.pos {
		return
	}
	l.pos = pos
	if l.env.moved != nil {
		l.env.moved(pos)
	}
}

// drain delivers the announcements the connection received during its
// last query, before it is dropped.
func (l *pgListener) drain(conn *pgx.Conn) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		n, _ := conn.WaitForNotification(done)
		if n == nil {
			return
		}
		l.deliver(n.Payload)
	}
}

func (l *pgListener) deliver(payload string) {
	parts := strings.SplitN(payload, payloadSep, 3)
	if len(parts) != 3 {
		return
	}
	l.fn(store.Change{Team: parts[0], Kind: parts[1], Key: parts[2]})
}
