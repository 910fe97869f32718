package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// RevokeGrant records a cut-off; a pair cut off before keeps the later of
// each time, so that a late, older revocation never shortens a newer one.
func (q *queries) RevokeGrant(ctx context.Context, r store.GrantRevocation) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO grant_revocations (team, user_id, client_id, revoked_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (team, user_id, client_id) DO UPDATE SET
				revoked_at = CASE WHEN excluded.revoked_at > grant_revocations.revoked_at
					THEN excluded.revoked_at ELSE grant_revocations.revoked_at END,
				expires_at = CASE WHEN excluded.expires_at > grant_revocations.expires_at
					THEN excluded.expires_at ELSE grant_revocations.expires_at END`,
			r.Team, r.UserID, r.ClientID, ts(r.RevokedAt), ts(r.ExpiresAt)); err != nil {
			return q.fail("revoke grant of "+r.UserID+" to "+r.ClientID, err)
		}
		return q.changed(ctx, x, r.Team, store.KindGrantRevoked, r.UserID+"/"+r.ClientID)
	})
}

// ListGrantRevocations lists the cut-offs still unexpired at now.
func (q *queries) ListGrantRevocations(ctx context.Context, team string, now time.Time) (_ []store.GrantRevocation, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT team, user_id, client_id, revoked_at, expires_at FROM grant_revocations
		WHERE team = $1 AND expires_at > $2 ORDER BY user_id, client_id`, team, ts(now))
	if err != nil {
		return nil, q.fail("list grant revocations", err)
	}
	defer rows.Close()
	var out []store.GrantRevocation
	for rows.Next() {
		var (
			r                store.GrantRevocation
			revoked, expires int64
		)
		if err := rows.Scan(&r.Team, &r.UserID, &r.ClientID, &revoked, &expires); err != nil {
			return nil, q.fail("list grant revocations", err)
		}
		r.RevokedAt, r.ExpiresAt = fromTS(revoked), fromTS(expires)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list grant revocations", err)
	}
	return out, nil
}

// GrantRevocation returns one pair's cut-off if it is unexpired at now.
func (q *queries) GrantRevocation(ctx context.Context, team, userID, clientID string, now time.Time) (_ store.GrantRevocation, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	var (
		r                store.GrantRevocation
		revoked, expires int64
	)
	err = q.x.QueryRowContext(ctx, `SELECT team, user_id, client_id, revoked_at, expires_at FROM grant_revocations
		WHERE team = $1 AND user_id = $2 AND client_id = $3 AND expires_at > $4`, team, userID, clientID, ts(now)).
		Scan(&r.Team, &r.UserID, &r.ClientID, &revoked, &expires)
	if err != nil {
		return store.GrantRevocation{}, q.fail("grant revocation of "+userID+" to "+clientID, err)
	}
	r.RevokedAt, r.ExpiresAt = fromTS(revoked), fromTS(expires)
	return r, nil
}
