package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// groupColumns are a group's columns, as the reads of groups with their
// members select them from user_groups g (then m.user_id).
const groupColumns = `g.team, g.id, g.name, g.external_id, g.created_at, g.updated_at`

func (q *queries) CreateGroup(ctx context.Context, g store.Group) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = g.CreatedAt
	}
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO user_groups (team, id, name, external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			g.Team, g.ID, g.Name, g.ExternalID, ts(g.CreatedAt), ts(g.UpdatedAt)); err != nil {
			return q.fail("create group "+g.Name, err)
		}
		return q.changed(ctx, x, g.Team, store.KindGroup, g.Name)
	})
}

func (q *queries) Group(ctx context.Context, team, name string) (_ store.Group, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	gs, err := q.groups(ctx, `SELECT `+groupColumns+`, m.user_id FROM user_groups g
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
	gs, err := q.groups(ctx, `SELECT `+groupColumns+`, m.user_id FROM user_groups g
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
	return q.groupsIn(ctx, q.x, query, args...)
}

// groupsIn is groups on x.
func (q *queries) groupsIn(ctx context.Context, x execer, query string, args ...any) ([]store.Group, error) {
	rows, err := x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Group
	for rows.Next() {
		var (
			g                store.Group
			created, updated int64
			member           *string
		)
		if err := rows.Scan(&g.Team, &g.ID, &g.Name, &g.ExternalID, &created, &updated, &member); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Name != g.Name {
			g.CreatedAt, g.UpdatedAt = fromTS(created), fromTS(updated)
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

// GroupByID reads a group, with its members, by its ID.
func (q *queries) GroupByID(ctx context.Context, team, id string) (_ store.Group, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	gs, err := q.groups(ctx, `SELECT `+groupColumns+`, m.user_id FROM user_groups g
		LEFT JOIN group_members m ON m.team = g.team AND m.group_name = g.name
		WHERE g.team = $1 AND g.id = $2 ORDER BY m.user_id`, team, id)
	if err != nil {
		return store.Group{}, q.fail("group "+id, err)
	}
	if len(gs) == 0 {
		return store.Group{}, q.fail("group "+id, store.ErrNotFound)
	}
	return gs[0], nil
}

// UpdateGroup writes g's name, external ID and time of change to the group
// now named name. A rename moves the group's row to its new key: a new row
// under a placeholder ID, the memberships moved to it, the old row deleted,
// then the ID given back; the group:<name> permissions follow.
func (q *queries) UpdateGroup(ctx context.Context, team, name string, g store.Group) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	what := "update group " + name
	return q.write(ctx, func(x execer) error {
		gs, err := q.groupsIn(ctx, x, `SELECT `+groupColumns+`, NULL FROM user_groups g WHERE g.team = $1 AND g.name = $2`, team, name)
		if err != nil {
			return q.fail(what, err)
		}
		if len(gs) == 0 {
			return q.fail(what, store.ErrNotFound)
		}
		old := gs[0]
		if g.UpdatedAt.IsZero() {
			g.UpdatedAt = old.UpdatedAt
		}
		if g.Name != name {
			for _, s := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO user_groups (team, id, name, external_id, created_at, updated_at) VALUES ($1, $2, $3, '', $4, $5)`,
					[]any{team, "renaming:" + old.ID, g.Name, ts(old.CreatedAt), ts(old.UpdatedAt)}},
				{`UPDATE group_members SET group_name = $3 WHERE team = $1 AND group_name = $2`, []any{team, name, g.Name}},
				{`DELETE FROM user_groups WHERE team = $1 AND name = $2`, []any{team, name}},
				{`UPDATE user_groups SET id = $3 WHERE team = $1 AND name = $2`, []any{team, g.Name, old.ID}},
				{`UPDATE permissions SET principal = $3 WHERE team = $1 AND principal = $2`, []any{team, "group:" + name, "group:" + g.Name}},
			} {
				if _, err := x.ExecContext(ctx, s.sql, s.args...); err != nil {
					return q.fail(what, err)
				}
			}
			for _, c := range []store.Change{{Team: team, Kind: store.KindPermission}, {Team: team, Kind: store.KindGroup, Key: name}} {
				if err := q.changed(ctx, x, c.Team, c.Kind, c.Key); err != nil {
					return err
				}
			}
		}
		if _, err := x.ExecContext(ctx, `UPDATE user_groups SET external_id = $3, updated_at = $4 WHERE team = $1 AND name = $2`,
			team, g.Name, g.ExternalID, ts(g.UpdatedAt)); err != nil {
			return q.fail(what, err)
		}
		return q.changed(ctx, x, team, store.KindGroup, g.Name)
	})
}

// Memberships lists the groups of the users of userIDs, with their IDs.
func (q *queries) Memberships(ctx context.Context, team string, userIDs []string) (_ []store.Membership, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	if len(userIDs) > maxPageSize {
		return nil, q.fail("memberships", store.ErrInvalid)
	}
	args := []any{team}
	marks := make([]string, 0, len(userIDs))
	for _, id := range userIDs {
		args = append(args, id)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	in := "1 = 0" // still asked, so that a database that cannot answer says so
	if len(marks) > 0 {
		in = "m.user_id IN (" + strings.Join(marks, ", ") + ")"
	}
	return queryAll(ctx, q, "memberships", func(sc rowScanner) (store.Membership, error) {
		var m store.Membership
		return m, sc.Scan(&m.UserID, &m.GroupID, &m.Group)
	}, `SELECT m.user_id, g.id, g.name FROM group_members m JOIN user_groups g ON g.team = m.team AND g.name = m.group_name
		WHERE m.team = $1 AND `+in+` ORDER BY m.user_id, g.name`, args...)
}
