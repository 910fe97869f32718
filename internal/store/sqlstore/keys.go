package sqlstore

import (
	"context"
	"database/sql"

	"github.com/gatehouse/gatehouse/internal/store"
)

const keyColumns = `team, id, kind, owner, hash, created_at, expires_at, last_used_at, last_used_ip, last_used_ua, migrated_to`

func scanKey(sc interface{ Scan(...any) error }) (store.StaticKey, error) {
	var (
		k                 store.StaticKey
		created           int64
		expires, lastUsed sql.NullInt64
	)
	if err := sc.Scan(&k.Team, &k.ID, &k.Kind, &k.Owner, &k.Hash, &created, &expires, &lastUsed,
		&k.LastUsedIP, &k.LastUsedUA, &k.MigratedTo); err != nil {
		return store.StaticKey{}, err
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt = fromTS(created), fromNullTS(expires), fromNullTS(lastUsed)
	return k, nil
}

// CreateKey stores a static key; its owner (user ID or application name)
// must exist in the team.
func (q *queries) CreateKey(ctx context.Context, k store.StaticKey) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		owner := `SELECT 1 FROM users WHERE team = $1 AND id = $2`
		if k.Kind == store.KeyKindApp {
			owner = `SELECT 1 FROM apps WHERE team = $1 AND name = $2`
		}
		var one int
		if err := x.QueryRowContext(ctx, owner, k.Team, k.Owner).Scan(&one); err != nil {
			return q.fail("create key: owner "+k.Owner, err)
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO static_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			k.Team, k.ID, k.Kind, k.Owner, k.Hash, ts(k.CreatedAt), nullTS(k.ExpiresAt), nullTS(k.LastUsedAt),
			k.LastUsedIP, k.LastUsedUA, k.MigratedTo); err != nil {
			return q.fail("create key "+k.ID, err)
		}
		return q.changed(ctx, x, k.Team, store.KindKey, k.ID)
	})
}

func (q *queries) Key(ctx context.Context, team, id string) (_ store.StaticKey, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	k, err := scanKey(q.x.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM static_keys WHERE team = $1 AND id = $2`, team, id))
	if err != nil {
		return store.StaticKey{}, q.fail("key "+id, err)
	}
	return k, nil
}

func (q *queries) ListKeys(ctx context.Context, team string) (_ []store.StaticKey, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+keyColumns+` FROM static_keys WHERE team = $1 ORDER BY created_at, id`, team)
	if err != nil {
		return nil, q.fail("list keys", err)
	}
	defer rows.Close()
	var out []store.StaticKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, q.fail("list keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list keys", err)
	}
	return out, nil
}

func (q *queries) DeleteKey(ctx context.Context, team, id string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM static_keys WHERE team = $1 AND id = $2`, team, id)
		if err != nil {
			return q.fail("delete key "+id, err)
		}
		if err := affected("delete key "+id, res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindKey, id)
	})
}

// RecordKeyUse writes batched last-used data. It announces no change:
// nothing cached depends on it.
func (q *queries) RecordKeyUse(ctx context.Context, team string, uses []store.KeyUse) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		for _, u := range uses {
			if _, err := x.ExecContext(ctx, `UPDATE static_keys SET last_used_at = $3, last_used_ip = $4, last_used_ua = $5
				WHERE team = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`,
				team, u.ID, ts(u.At), u.IP, u.UserAgent); err != nil {
				return q.fail("record use of key "+u.ID, err)
			}
		}
		return nil
	})
}

func (q *queries) SetKeyMigrated(ctx context.Context, team, id, clientID string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE static_keys SET migrated_to = $3 WHERE team = $1 AND id = $2`, team, id, clientID)
		if err != nil {
			return q.fail("mark key "+id+" migrated", err)
		}
		if err := affected("mark key "+id+" migrated", res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindKey, id)
	})
}
