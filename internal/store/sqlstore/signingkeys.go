package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const signingKeyColumns = `team, id, alg, public_jwk, private_sealed, created_at, activate_at, retired_at, delete_after`

func (q *queries) CreateSigningKey(ctx context.Context, k store.SigningKey) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			k.Team, k.ID, k.Alg, k.PublicJWK, k.PrivateSealed, ts(k.CreatedAt), ts(k.ActivateAt),
			nullTS(k.RetiredAt), nullTS(k.DeleteAfter)); err != nil {
			return q.fail("create signing key "+k.ID, err)
		}
		return q.changed(ctx, x, k.Team, store.KindSigningKey, k.ID)
	})
}

// ListSigningKeys lists the team's keys, oldest first.
func (q *queries) ListSigningKeys(ctx context.Context, team string) (_ []store.SigningKey, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys WHERE team = $1 ORDER BY created_at, id`, team)
	if err != nil {
		return nil, q.fail("list signing keys", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var (
			k                 store.SigningKey
			created, activate int64
			retired, del      sql.NullInt64
		)
		if err := rows.Scan(&k.Team, &k.ID, &k.Alg, &k.PublicJWK, &k.PrivateSealed, &created, &activate, &retired, &del); err != nil {
			return nil, q.fail("list signing keys", err)
		}
		k.CreatedAt, k.ActivateAt, k.RetiredAt, k.DeleteAfter = fromTS(created), fromTS(activate), fromNullTS(retired), fromNullTS(del)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list signing keys", err)
	}
	return out, nil
}

func (q *queries) RetireSigningKey(ctx context.Context, team, id string, retiredAt, deleteAfter time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $3, delete_after = $4 WHERE team = $1 AND id = $2`,
			team, id, ts(retiredAt), ts(deleteAfter))
		if err != nil {
			return q.fail("retire signing key "+id, err)
		}
		if err := affected("retire signing key "+id, res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindSigningKey, id)
	})
}

func (q *queries) DeleteSigningKey(ctx context.Context, team, id string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM signing_keys WHERE team = $1 AND id = $2`, team, id)
		if err != nil {
			return q.fail("delete signing key "+id, err)
		}
		if err := affected("delete signing key "+id, res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindSigningKey, id)
	})
}

// RevokeToken adds an access token to the denylist; revoking it twice is
// not an error (RFC 7009 section 2.2).
func (q *queries) RevokeToken(ctx context.Context, r store.RevokedToken) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO revoked_tokens (team, jti, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (team, jti) DO NOTHING`, r.Team, r.JTI, ts(r.ExpiresAt)); err != nil {
			return q.fail("revoke token "+r.JTI, err)
		}
		return q.changed(ctx, x, r.Team, store.KindRevoked, r.JTI)
	})
}

// ListRevokedTokens lists the denylist entries still unexpired at now.
func (q *queries) ListRevokedTokens(ctx context.Context, team string, now time.Time) (_ []store.RevokedToken, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT team, jti, expires_at FROM revoked_tokens WHERE team = $1 AND expires_at > $2
		ORDER BY jti`, team, ts(now))
	if err != nil {
		return nil, q.fail("list revoked tokens", err)
	}
	defer rows.Close()
	var out []store.RevokedToken
	for rows.Next() {
		var (
			r   store.RevokedToken
			exp int64
		)
		if err := rows.Scan(&r.Team, &r.JTI, &exp); err != nil {
			return nil, q.fail("list revoked tokens", err)
		}
		r.ExpiresAt = fromTS(exp)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list revoked tokens", err)
	}
	return out, nil
}
