package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const sessionColumns = `team, hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent`

func scanSession(sc interface{ Scan(...any) error }) (store.Session, error) {
	var (
		s                      store.Session
		created, seen, expires int64
	)
	if err := sc.Scan(&s.Team, &s.Hash, &s.UserID, &created, &seen, &expires, &s.IP, &s.UserAgent); err != nil {
		return store.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromTS(created), fromTS(seen), fromTS(expires)
	return s, nil
}

// CreateSession inserts s, then keeps only the user's keep newest
// sessions, in one transaction.
func (q *queries) CreateSession(ctx context.Context, s store.Session, keep int) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.Team, s.Hash, s.UserID, ts(s.CreatedAt), ts(s.LastSeenAt), ts(s.ExpiresAt), s.IP, s.UserAgent); err != nil {
			return q.fail("create session of "+s.UserID, err)
		}
		if keep < 1 {
			return nil
		}
		res, err := x.ExecContext(ctx, `DELETE FROM sessions WHERE team = $1 AND user_id = $2 AND hash NOT IN (
			SELECT hash FROM sessions WHERE team = $1 AND user_id = $2 ORDER BY created_at DESC, hash DESC LIMIT $3)`,
			s.Team, s.UserID, keep)
		if err != nil {
			return q.fail("create session of "+s.UserID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return q.changed(ctx, x, s.Team, store.KindSession, s.UserID)
	})
}

func (q *queries) Session(ctx context.Context, team string, hash []byte) (_ store.Session, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	s, err := scanSession(q.x.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE team = $1 AND hash = $2`, team, hash))
	if err != nil {
		return store.Session{}, q.fail("session", err)
	}
	return s, nil
}

func (q *queries) ListSessions(ctx context.Context, team, userID string) (_ []store.Session, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE team = $1 AND user_id = $2
		ORDER BY created_at DESC, hash DESC`, team, userID)
	if err != nil {
		return nil, q.fail("list sessions", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, q.fail("list sessions", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list sessions", err)
	}
	return out, nil
}

// TouchSession records a use; it announces no change.
func (q *queries) TouchSession(ctx context.Context, team string, hash []byte, at time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $3 WHERE team = $1 AND hash = $2`, team, hash, ts(at))
		if err != nil {
			return q.fail("touch session", err)
		}
		return affected("touch session", res)
	})
}

func (q *queries) DeleteSession(ctx context.Context, team string, hash []byte) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		var userID string
		if err := x.QueryRowContext(ctx, `DELETE FROM sessions WHERE team = $1 AND hash = $2 RETURNING user_id`,
			team, hash).Scan(&userID); err != nil {
			return q.fail("delete session", err)
		}
		return q.changed(ctx, x, team, store.KindSession, userID)
	})
}

func (q *queries) DeleteUserSessions(ctx context.Context, team, userID string) (_ int, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	var n int64
	err = q.write(ctx, func(x execer) error {
		n, err = deleteUserSessions(ctx, x, team, userID)
		if err != nil {
			return q.fail("delete sessions of "+userID, err)
		}
		if n == 0 {
			return nil
		}
		return q.changed(ctx, x, team, store.KindSession, userID)
	})
	return int(n), err
}

// deleteUserSessions deletes every session of the user within x.
func deleteUserSessions(ctx context.Context, x execer, team, userID string) (int64, error) {
	res, err := x.ExecContext(ctx, `DELETE FROM sessions WHERE team = $1 AND user_id = $2`, team, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
