package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const codeColumns = `team, hash, client_id, user_id, redirect_uri, scopes, code_challenge, code_challenge_method,
	created_at, expires_at, used_at, nonce, auth_time`

func scanCode(sc interface{ Scan(...any) error }) (store.AuthCode, error) {
	var (
		c                store.AuthCode
		scopes           string
		created, expires int64
		used, authTime   sql.NullInt64
	)
	if err := sc.Scan(&c.Team, &c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &scopes, &c.CodeChallenge,
		&c.CodeChallengeMethod, &created, &expires, &used, &c.Nonce, &authTime); err != nil {
		return store.AuthCode{}, err
	}
	c.Scopes, c.CreatedAt, c.ExpiresAt, c.UsedAt = splitList(scopes), fromTS(created), fromTS(expires), fromNullTS(used)
	c.AuthTime = fromOptionalTS(authTime)
	return c, nil
}

func (q *queries) CreateAuthCode(ctx context.Context, c store.AuthCode) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO auth_codes (`+codeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.Team, c.Hash, c.ClientID, c.UserID, c.RedirectURI, joinList(c.Scopes), c.CodeChallenge, c.CodeChallengeMethod,
			ts(c.CreatedAt), ts(c.ExpiresAt), nullTS(c.UsedAt), c.Nonce, optionalTS(c.AuthTime)); err != nil {
			return q.fail("create authorization code", err)
		}
		return nil
	})
}

// UseAuthCode spends a code exactly once, even against a concurrent
// redemption on another node: the update only matches an unspent code. Both
// statements match the client too, so that a code presented by another
// client is not found and is left unspent for its own.
func (q *queries) UseAuthCode(ctx context.Context, team, clientID string, hash []byte, at time.Time) (_ store.AuthCode, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	var c store.AuthCode
	err = q.write(ctx, func(x execer) error {
		var err error
		c, err = scanCode(x.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM auth_codes WHERE team = $1 AND hash = $2 AND client_id = $3`,
			team, hash, clientID))
		if err != nil {
			return q.fail("use authorization code", err)
		}
		if c.UsedAt != nil {
			return fmt.Errorf("use authorization code: already used: %w", store.ErrConflict)
		}
		res, err := x.ExecContext(ctx, `UPDATE auth_codes SET used_at = $4 WHERE team = $1 AND hash = $2 AND client_id = $3 AND used_at IS NULL`,
			team, hash, clientID, ts(at))
		if err != nil {
			return q.fail("use authorization code", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("use authorization code: already used: %w", store.ErrConflict)
		}
		return nil
	})
	return c, err
}

const refreshColumns = `team, hash, family_id, client_id, user_id, scopes, created_at, expires_at, family_expires_at,
	used_at, revoked_at, auth_time`

func scanRefresh(sc interface{ Scan(...any) error }) (store.RefreshToken, error) {
	var (
		t                        store.RefreshToken
		scopes                   string
		created, expires, family int64
		used, revoked, authTime  sql.NullInt64
	)
	if err := sc.Scan(&t.Team, &t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &scopes, &created, &expires, &family,
		&used, &revoked, &authTime); err != nil {
		return store.RefreshToken{}, err
	}
	t.AuthTime = fromOptionalTS(authTime)
	t.Scopes, t.CreatedAt, t.ExpiresAt, t.FamilyExpiresAt = splitList(scopes), fromTS(created), fromTS(expires), fromTS(family)
	t.UsedAt, t.RevokedAt = fromNullTS(used), fromNullTS(revoked)
	return t, nil
}

func (q *queries) CreateRefreshToken(ctx context.Context, t store.RefreshToken) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			t.Team, t.Hash, t.FamilyID, t.ClientID, t.UserID, joinList(t.Scopes), ts(t.CreatedAt), ts(t.ExpiresAt),
			ts(t.FamilyExpiresAt), nullTS(t.UsedAt), nullTS(t.RevokedAt), optionalTS(t.AuthTime)); err != nil {
			return q.fail("create refresh token", err)
		}
		return nil
	})
}

func (q *queries) RefreshToken(ctx context.Context, team string, hash []byte) (_ store.RefreshToken, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	t, err := scanRefresh(q.x.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE team = $1 AND hash = $2`, team, hash))
	if err != nil {
		return store.RefreshToken{}, q.fail("refresh token", err)
	}
	return t, nil
}

// UseRefreshToken spends a token exactly once; a spent or revoked token
// comes back with ErrConflict so that the caller can revoke its family.
func (q *queries) UseRefreshToken(ctx context.Context, team string, hash []byte, at time.Time) (_ store.RefreshToken, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	var t store.RefreshToken
	err = q.write(ctx, func(x execer) error {
		var err error
		t, err = scanRefresh(x.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE team = $1 AND hash = $2`, team, hash))
		if err != nil {
			return q.fail("use refresh token", err)
		}
		if t.UsedAt != nil || t.RevokedAt != nil {
			return fmt.Errorf("use refresh token: already used or revoked: %w", store.ErrConflict)
		}
		res, err := x.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $3
			WHERE team = $1 AND hash = $2 AND used_at IS NULL AND revoked_at IS NULL`, team, hash, ts(at))
		if err != nil {
			return q.fail("use refresh token", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("use refresh token: already used or revoked: %w", store.ErrConflict)
		}
		return nil
	})
	return t, err
}

func (q *queries) RevokeRefreshFamily(ctx context.Context, team, familyID string, at time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $3
			WHERE team = $1 AND family_id = $2 AND revoked_at IS NULL`, team, familyID, ts(at)); err != nil {
			return q.fail("revoke refresh family "+familyID, err)
		}
		return q.changed(ctx, x, team, store.KindRefresh, familyID)
	})
}

func (q *queries) RevokeRefreshTokensOf(ctx context.Context, team, userID, clientID string, at time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $4
			WHERE team = $1 AND user_id = $2 AND client_id = $3 AND revoked_at IS NULL`, team, userID, clientID, ts(at)); err != nil {
			return q.fail("revoke refresh tokens of "+userID+" for "+clientID, err)
		}
		return q.changed(ctx, x, team, store.KindRefresh, "")
	})
}
