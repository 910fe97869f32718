package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CountFailure adds one failure of key in one statement: an upsert that
// opens a new window when the key's has ended and, with max > 0, adds
// only below max. Concurrent calls of every node serialize on the key's
// row, so that no two can both take the last unit.
func (q *queries) CountFailure(ctx context.Context, team, key string, at time.Time, window time.Duration, max int) (_ store.Failures, added bool, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	what := "count failure of " + key
	if window <= 0 || max < 0 {
		return store.Failures{}, false, fmt.Errorf("%s: window %s, max %d: %w", what, window, max, store.ErrInvalid)
	}
	f := store.Failures{Team: team, Key: key}
	err = q.write(ctx, func(x execer) error {
		var started, expires int64
		err := x.QueryRowContext(ctx, `INSERT INTO failure_counts (team, key, count, started_at, expires_at)
			VALUES ($1, $2, 1, $3, $4)
			ON CONFLICT (team, key) DO UPDATE SET
				count = CASE WHEN failure_counts.expires_at <= $3 THEN 1 ELSE failure_counts.count + 1 END,
				started_at = CASE WHEN failure_counts.expires_at <= $3 THEN $3 ELSE failure_counts.started_at END,
				expires_at = CASE WHEN failure_counts.expires_at <= $3 THEN $4 ELSE failure_counts.expires_at END
			WHERE failure_counts.expires_at <= $3 OR $5 = 0 OR failure_counts.count < $5
			RETURNING count, started_at, expires_at`,
			team, key, ts(at), ts(at.Add(window)), max).Scan(&f.Count, &started, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			// The window is full: nothing added, nothing changed.
			if err := x.QueryRowContext(ctx, `SELECT count, started_at, expires_at FROM failure_counts
				WHERE team = $1 AND key = $2`, team, key).Scan(&f.Count, &started, &expires); err != nil {
				return q.fail(what, err)
			}
			f.StartedAt, f.ExpiresAt = fromTS(started), fromTS(expires)
			return nil
		}
		if err != nil {
			return q.fail(what, err)
		}
		f.StartedAt, f.ExpiresAt = fromTS(started), fromTS(expires)
		added = true
		return q.changed(ctx, x, team, store.KindFailures, key)
	})
	if err != nil {
		return store.Failures{}, false, err
	}
	return f, added, nil
}

// UncountFailure takes one back from the window that started at started.
func (q *queries) UncountFailure(ctx context.Context, team, key string, started time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE failure_counts SET count = count - 1
			WHERE team = $1 AND key = $2 AND started_at = $3 AND count > 0`, team, key, ts(started))
		if err != nil {
			return q.fail("uncount failure of "+key, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // that window is over, or had nothing to give back
		}
		return q.changed(ctx, x, team, store.KindFailures, key)
	})
}

// Failures returns key's window open at `at`.
func (q *queries) Failures(ctx context.Context, team, key string, at time.Time) (_ store.Failures, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	f := store.Failures{Team: team, Key: key}
	var started, expires int64
	if err := q.x.QueryRowContext(ctx, `SELECT count, started_at, expires_at FROM failure_counts
		WHERE team = $1 AND key = $2 AND expires_at > $3`, team, key, ts(at)).Scan(&f.Count, &started, &expires); err != nil {
		return store.Failures{}, q.fail("failures of "+key, err)
	}
	f.StartedAt, f.ExpiresAt = fromTS(started), fromTS(expires)
	return f, nil
}
