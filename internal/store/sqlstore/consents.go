package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const consentColumns = `team, user_id, client_id, scopes, created_at, updated_at, last_used_at`

func scanConsent(sc interface{ Scan(...any) error }) (store.Consent, error) {
	var (
		c                store.Consent
		scopes           string
		created, updated int64
		used             sql.NullInt64
	)
	if err := sc.Scan(&c.Team, &c.UserID, &c.ClientID, &scopes, &created, &updated, &used); err != nil {
		return store.Consent{}, err
	}
	c.Scopes, c.CreatedAt, c.UpdatedAt, c.LastUsedAt = splitList(scopes), fromTS(created), fromTS(updated), fromNullTS(used)
	return c, nil
}

// UpsertConsent records the consent, replacing the scopes of an existing
// one (its CreatedAt stays).
func (q *queries) UpsertConsent(ctx context.Context, c store.Consent) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (team, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
			c.Team, c.UserID, c.ClientID, joinList(c.Scopes), ts(c.CreatedAt), ts(c.UpdatedAt), nullTS(c.LastUsedAt)); err != nil {
			return q.fail("record consent of "+c.UserID+" to "+c.ClientID, err)
		}
		return q.changed(ctx, x, c.Team, store.KindConsent, c.UserID+"/"+c.ClientID)
	})
}

func (q *queries) Consent(ctx context.Context, team, userID, clientID string) (_ store.Consent, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	c, err := scanConsent(q.x.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE team = $1 AND user_id = $2 AND client_id = $3`, team, userID, clientID))
	if err != nil {
		return store.Consent{}, q.fail("consent of "+userID+" to "+clientID, err)
	}
	return c, nil
}

func (q *queries) ListConsents(ctx context.Context, team, userID string) (_ []store.Consent, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE team = $1 AND user_id = $2
		ORDER BY created_at, client_id`, team, userID)
	if err != nil {
		return nil, q.fail("list consents", err)
	}
	defer rows.Close()
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, q.fail("list consents", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list consents", err)
	}
	return out, nil
}

// TouchConsent records a use; it announces no change.
func (q *queries) TouchConsent(ctx context.Context, team, userID, clientID string, at time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE consents SET last_used_at = $4 WHERE team = $1 AND user_id = $2 AND client_id = $3`,
			team, userID, clientID, ts(at))
		if err != nil {
			return q.fail("touch consent of "+userID+" to "+clientID, err)
		}
		return affected("touch consent of "+userID+" to "+clientID, res)
	})
}

func (q *queries) DeleteConsent(ctx context.Context, team, userID, clientID string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM consents WHERE team = $1 AND user_id = $2 AND client_id = $3`,
			team, userID, clientID)
		if err != nil {
			return q.fail("delete consent of "+userID+" to "+clientID, err)
		}
		if err := affected("delete consent of "+userID+" to "+clientID, res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindConsent, userID+"/"+clientID)
	})
}
