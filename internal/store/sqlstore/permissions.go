package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

func (q *queries) GrantPermission(ctx context.Context, p store.Permission) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO permissions (team, principal, action, resource, created_at)
			VALUES ($1, $2, $3, $4, $5)`, p.Team, p.Principal, p.Action, p.Resource, ts(p.CreatedAt)); err != nil {
			return q.fail("grant "+p.Action+" on "+p.Resource+" to "+p.Principal, err)
		}
		return q.changed(ctx, x, p.Team, store.KindPermission, p.Principal)
	})
}

func (q *queries) RevokePermission(ctx context.Context, p store.Permission) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM permissions WHERE team = $1 AND principal = $2 AND action = $3 AND resource = $4`,
			p.Team, p.Principal, p.Action, p.Resource)
		if err != nil {
			return q.fail("revoke "+p.Action+" on "+p.Resource+" from "+p.Principal, err)
		}
		if err := affected("revoke "+p.Action+" on "+p.Resource+" from "+p.Principal, res); err != nil {
			return err
		}
		return q.changed(ctx, x, p.Team, store.KindPermission, p.Principal)
	})
}

// ListPermissions lists the principal's permissions, or the whole team's
// when principal is empty.
func (q *queries) ListPermissions(ctx context.Context, team, principal string) (_ []store.Permission, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT team, principal, action, resource, created_at FROM permissions
		WHERE team = $1 AND ($2 = '' OR principal = $2) ORDER BY principal, action, resource`, team, principal)
	if err != nil {
		return nil, q.fail("list permissions", err)
	}
	defer rows.Close()
	var out []store.Permission
	for rows.Next() {
		var (
			p       store.Permission
			created int64
		)
		if err := rows.Scan(&p.Team, &p.Principal, &p.Action, &p.Resource, &created); err != nil {
			return nil, q.fail("list permissions", err)
		}
		p.CreatedAt = fromTS(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list permissions", err)
	}
	return out, nil
}
