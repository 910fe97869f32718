package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

func (q *queries) CreateApp(ctx context.Context, a store.Application) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO apps (team, name, created_at) VALUES ($1, $2, $3)`,
			a.Team, a.Name, ts(a.CreatedAt)); err != nil {
			return q.fail("create app "+a.Name, err)
		}
		return q.changed(ctx, x, a.Team, store.KindApp, a.Name)
	})
}

func (q *queries) App(ctx context.Context, team, name string) (_ store.Application, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	a := store.Application{}
	var created int64
	if err := q.x.QueryRowContext(ctx, `SELECT team, name, created_at FROM apps WHERE team = $1 AND name = $2`, team, name).
		Scan(&a.Team, &a.Name, &created); err != nil {
		return store.Application{}, q.fail("app "+name, err)
	}
	a.CreatedAt = fromTS(created)
	return a, nil
}

func (q *queries) ListApps(ctx context.Context, team string) (_ []store.Application, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT team, name, created_at FROM apps WHERE team = $1 ORDER BY name`, team)
	if err != nil {
		return nil, q.fail("list apps", err)
	}
	defer rows.Close()
	var out []store.Application
	for rows.Next() {
		var (
			a       store.Application
			created int64
		)
		if err := rows.Scan(&a.Team, &a.Name, &created); err != nil {
			return nil, q.fail("list apps", err)
		}
		a.CreatedAt = fromTS(created)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list apps", err)
	}
	return out, nil
}

// DeleteApp deletes the application, its AppKeys and its permissions.
func (q *queries) DeleteApp(ctx context.Context, team, name string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM apps WHERE team = $1 AND name = $2`, team, name)
		if err != nil {
			return q.fail("delete app "+name, err)
		}
		if err := affected("delete app "+name, res); err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM static_keys WHERE team = $1 AND kind = 'app' AND owner = $2`, team, name); err != nil {
			return q.fail("delete app "+name, err)
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM permissions WHERE team = $1 AND principal = $2`, team, "app:"+name); err != nil {
			return q.fail("delete app "+name, err)
		}
		for _, c := range [][2]string{{store.KindApp, name}, {store.KindKey, ""}, {store.KindPermission, ""}} {
			if err := q.changed(ctx, x, team, c[0], c[1]); err != nil {
				return err
			}
		}
		return nil
	})
}
