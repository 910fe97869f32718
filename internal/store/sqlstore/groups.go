package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

func (q *queries) CreateGroup(ctx context.Context, g store.Group) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO user_groups (team, name, created_at) VALUES ($1, $2, $3)`,
			g.Team, g.Name, ts(g.CreatedAt)); err != nil {
			return q.fail("create group "+g.Name, err)
		}
		return q.changed(ctx, x, g.Team, store.KindGroup, g.Name)
	})
}

func (q *queries) Group(ctx context.Context, team, name string) (_ store.Group, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	gs, err := q.groups(ctx, `SELECT g.team, g.name, g.created_at, m.user_id FROM user_groups g
		LEFT JOIN group_members m ON m.team = g.team AND m.group_name = g.name
		WHERE g.team = $1 AND g.name = $2 ORDER BY m.user_id`, team, name)
	if err != nil {
		return store.Group{}, q.fail("group "+name, err)
	}
	if len(gs) == 0 {
		return store.Group{}, q.fail("group "+name, store.ErrNotFound)
	}
	return gs[0], nil
}

// ListGroups pages through the team's groups in name order, with members.
func (q *queries) ListGroups(ctx context.Context, team string, p store.Page) (_ []store.Group, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	gs, err := q.groups(ctx, `SELECT g.team, g.name, g.created_at, m.user_id FROM user_groups g
		LEFT JOIN group_members m ON m.team = g.team AND m.group_name = g.name
		WHERE g.team = $1 AND g.name IN (
			SELECT name FROM user_groups WHERE team = $1 AND name > $2 ORDER BY name LIMIT $3)
		ORDER BY g.name, m.user_id`, team, after, n+1)
	if err != nil {
		return nil, "", q.fail("list groups", err)
	}
	var next string
	if len(gs) > n {
		gs = gs[:n]
		next = encodeCursor(gs[n-1].Name)
	}
	return gs, next, nil
}

// groups folds rows of (group, member) ordered by group into groups.
func (q *queries) groups(ctx context.Context, query string, args ...any) ([]store.Group, error) {
	rows, err := q.x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Group
	for rows.Next() {
		var (
			g       store.Group
			created int64
			member  *string
		)
		if err := rows.Scan(&g.Team, &g.Name, &created, &member); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Name != g.Name {
			g.CreatedAt = fromTS(created)
			out = append(out, g)
		}
		if member != nil {
			last := &out[len(out)-1]
			last.Members = append(last.Members, *member)
		}
	}
	return out, rows.Err()
}

// DeleteGroup deletes the group, its memberships and its permissions.
func (q *queries) DeleteGroup(ctx context.Context, team, name string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM user_groups WHERE team = $1 AND name = $2`, team, name)
		if err != nil {
			return q.fail("delete group "+name, err)
		}
		if err := affected("delete group "+name, res); err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM permissions WHERE team = $1 AND principal = $2`, team, "group:"+name); err != nil {
			return q.fail("delete group "+name, err)
		}
		if err := q.changed(ctx, x, team, store.KindPermission, ""); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindGroup, name)
	})
}

func (q *queries) AddGroupMember(ctx context.Context, team, group, userID string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO group_members (team, group_name, user_id) VALUES ($1, $2, $3)`,
			team, group, userID); err != nil {
			return q.fail("add "+userID+" to group "+group, err)
		}
		return q.changed(ctx, x, team, store.KindGroup, group)
	})
}

func (q *queries) RemoveGroupMember(ctx context.Context, team, group, userID string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM group_members WHERE team = $1 AND group_name = $2 AND user_id = $3`,
			team, group, userID)
		if err != nil {
			return q.fail("remove "+userID+" from group "+group, err)
		}
		if err := affected("remove "+userID+" from group "+group, res); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindGroup, group)
	})
}

// UserGroups lists the names of the user's groups, sorted.
func (q *queries) UserGroups(ctx context.Context, team, userID string) (_ []string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.strings(ctx, "groups of "+userID,
		`SELECT group_name FROM group_members WHERE team = $1 AND user_id = $2 ORDER BY group_name`, team, userID)
}

// strings runs a query of one text column.
func (q *queries) strings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := q.x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, q.fail(what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, q.fail(what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail(what, err)
	}
	return out, nil
}
