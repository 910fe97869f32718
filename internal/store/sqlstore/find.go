package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The admin listings (the Find methods): one page in the order of a key
// that an index holds, after the cursor, narrowed by filters that indexes
// serve where they can (migration 0010): a prefix of a folded name is a
// range of that name's index.

// where builds a WHERE clause and its arguments, numbering placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds v and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) String() string { return " WHERE " + strings.Join(w.conds, " AND ") }

// afterName is the condition that a row comes after the cursor of a
// listing in folded-name order, name breaking ties; the cursor is the
// last row's name.
func (q *queries) afterName(w *where, after string) string {
	if after == "" {
		return "1 = 1"
	}
	col := q.d.folded("name")
	a, n := w.arg(foldASCII(after)), w.arg(after)
	return "(" + col + " > " + a + " OR (" + col + " = " + a + " AND name > " + n + "))"
}

// byName orders a listing by folded name, then name.
func (q *queries) byName() string { return " ORDER BY " + q.d.folded("name") + ", name" }

// prefixRange is the condition that the folded column starts with query.
func (q *queries) prefixRange(w *where, column, query string) string {
	lo := foldASCII(query)
	col := q.d.folded(column)
	return col + " >= " + w.arg(lo) + " AND " + col + " < " + w.arg(lo+"\U0010FFFF")
}

// foldASCII lower-cases ASCII letters only, as both engines' folded
// expressions do for them.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// FindUsers pages through the team's users by email. A search reads two
// pages in email order, one of users whose email starts with the query (a
// range of the email index, emails being stored lower-cased) and one of
// those whose name does (a range of the folded-name index), and merges
// them.
func (q *queries) FindUsers(ctx context.Context, team string, f store.UserFilter, p store.Page) (_ []store.User, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	page := func(cond func(w *where), order string, limit int) ([]store.User, error) {
		w := &where{}
		w.add("team = " + w.arg(team))
		w.add("email > " + w.arg(after))
		cond(w)
		return queryAll(ctx, q, "find users", scanUser, `SELECT `+userColumns+` FROM users`+w.String()+` ORDER BY `+order+` LIMIT `+w.arg(limit), w.args...)
	}
	var out []store.User
	if f.Query == "" {
		if out, err = page(func(*where) {}, "email", n+1); err != nil {
			return nil, "", err
		}
	} else {
		lo := foldASCII(f.Query)
		byEmail, err := page(func(w *where) {
			// In the email index's order; the exact test keeps a
			// collation that orders otherwise from widening it.
			w.add("email >= " + w.arg(lo) + " AND email < " + w.arg(lo+"\U0010FFFF") +
				" AND substr(email, 1, " + w.arg(len([]rune(lo))) + ") = " + w.arg(lo))
		}, "email", n+1)
		if err != nil {
			return nil, "", err
		}
		// The name side through its own index: all of it when it is
		// narrow, sorted here; when it is wide, a page in email order,
		// which then stops early.
		byName, err := page(func(w *where) { w.add(q.prefixRange(w, "name", f.Query)) }, q.d.folded("name"), narrowSearch+1)
		if err != nil {
			return nil, "", err
		}
		if len(byName) > narrowSearch {
			byName, err = page(func(w *where) { w.add(q.prefixRange(w, "name", f.Query)) }, "email", n+1)
			if err != nil {
				return nil, "", err
			}
		} else {
			slices.SortFunc(byName, func(a, b store.User) int { return strings.Compare(a.Email, b.Email) })
		}
		out = mergeUsers(byEmail, byName)
	}
	out, next := cutPage(out, n, func(u store.User) string { return u.Email })
	return out, next, nil
}

// narrowSearch is how many users' names a search reads through the name
// index at most before it reads them in email order instead.
const narrowSearch = 1000

// mergeUsers merges two lists in email order, without repeats.
func mergeUsers(a, b []store.User) []store.User {
	out := make([]store.User, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].Email < b[0].Email:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0].Email < a[0].Email:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

// UsersByID reads the users of ids in one query.
func (q *queries) UsersByID(ctx context.Context, team string, ids []string) (_ []store.User, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	if len(ids) > maxPageSize {
		return nil, fmt.Errorf("users by id: %d ids, at most %d: %w", len(ids), maxPageSize, store.ErrInvalid)
	}
	w := &where{}
	w.add("team = " + w.arg(team))
	marks := make([]string, 0, len(ids))
	for _, id := range ids {
		marks = append(marks, w.arg(id))
	}
	if len(marks) == 0 {
		w.add("1 = 0") // still asked, so that a database that cannot answer says so
	} else {
		w.add("id IN (" + strings.Join(marks, ", ") + ")")
	}
	return queryAll(ctx, q, "users by id", scanUser, `SELECT `+userColumns+` FROM users`+w.String(), w.args...)
}

// FindGroups pages through the team's groups by name, with their members.
func (q *queries) FindGroups(ctx context.Context, team string, f store.NameFilter, p store.Page) (_ []store.Group, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	w := &where{}
	w.add("team = " + w.arg(team))
	w.add(q.afterName(w, after))
	if f.Query != "" {
		w.add(q.prefixRange(w, "name", f.Query))
	}
	gs, err := q.groups(ctx, `SELECT `+groupColumns+`, m.user_id FROM user_groups g
		LEFT JOIN group_members m ON m.team = g.team AND m.group_name = g.name
		WHERE g.team = $1 AND g.name IN (SELECT name FROM user_groups`+w.String()+q.byName()+` LIMIT `+w.arg(n+1)+`)
		ORDER BY `+q.d.folded("g.name")+`, g.name, m.user_id`, w.args...)
	if err != nil {
		return nil, "", q.fail("find groups", err)
	}
	gs, next := cutPage(gs, n, func(g store.Group) string { return g.Name })
	return gs, next, nil
}

// FindApps pages through the team's applications by name.
func (q *queries) FindApps(ctx context.Context, team string, f store.NameFilter, p store.Page) (_ []store.Application, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	w := &where{}
	w.add("team = " + w.arg(team))
	w.add(q.afterName(w, after))
	if f.Query != "" {
		w.add(q.prefixRange(w, "name", f.Query))
	}
	out, err := queryAll(ctx, q, "find apps", scanApp,
		`SELECT team, name, created_at FROM apps`+w.String()+q.byName()+` LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", err
	}
	out, next := cutPage(out, n, func(a store.Application) string { return a.Name })
	return out, next, nil
}

// FindClients pages through the team's clients by name (unique in a
// team), with the secrets of the page's clients.
func (q *queries) FindClients(ctx context.Context, team string, f store.ClientFilter, p store.Page) (_ []store.Client, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	w := &where{}
	w.add("team = " + w.arg(team))
	w.add(q.afterName(w, after))
	if f.Query != "" {
		w.add(q.prefixRange(w, "name", f.Query))
	}
	if f.GrantType != "" {
		w.add(q.d.contains("(' ' || grant_types || ' ')", w.arg(" "+f.GrantType+" ")))
	}
	if f.Scope != "" {
		w.add(q.d.contains("(' ' || scopes || ' ')", w.arg(" "+f.Scope+" ")))
	}
	out, err := queryAll(ctx, q, "find clients", scanClient,
		`SELECT `+clientColumns+` FROM clients`+w.String()+q.byName()+` LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", err
	}
	out, next := cutPage(out, n, func(c store.Client) string { return c.Name })
	if len(out) > 0 {
		ids := make([]any, 0, len(out)+1)
		ids = append(ids, team)
		marks := make([]string, 0, len(out))
		for _, c := range out {
			ids = append(ids, c.ID)
			marks = append(marks, "$"+strconv.Itoa(len(ids)))
		}
		secrets, err := q.secrets(ctx, `WHERE team = $1 AND client_id IN (`+strings.Join(marks, ", ")+`)`, ids...)
		if err != nil {
			return nil, "", q.fail("find clients", err)
		}
		for i := range out {
			out[i].Secrets = secrets[out[i].ID]
		}
	}
	return out, next, nil
}

// FindKeys pages through the team's static keys in the order they were
// made (creation time, then id); the cursor is the last key's creation
// time and id.
func (q *queries) FindKeys(ctx context.Context, team string, f store.KeyFilter, p store.Page) (_ []store.StaticKey, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursorParts(p.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	w := &where{}
	w.add("team = " + w.arg(team))
	if p.Cursor != "" {
		created, err := strconv.ParseInt(after[0], 10, 64)
		if err != nil || after[1] == "" {
			return nil, "", fmt.Errorf("bad cursor: %w", store.ErrInvalid)
		}
		c := w.arg(created)
		w.add("(created_at > " + c + " OR (created_at = " + c + " AND id > " + w.arg(after[1]) + "))")
	}
	if f.Kind != "" {
		w.add("kind = " + w.arg(f.Kind))
	}
	if f.Owner != "" {
		w.add("owner = " + w.arg(f.Owner))
	}
	if f.UsedBefore != nil {
		w.add("(last_used_at IS NULL OR last_used_at < " + w.arg(ts(*f.UsedBefore)) + ")")
	}
	if f.UsedSince != nil {
		w.add("last_used_at >= " + w.arg(ts(*f.UsedSince)))
	}
	out, err := queryAll(ctx, q, "find keys", scanKey,
		`SELECT `+keyColumns+` FROM static_keys`+w.String()+` ORDER BY created_at, id LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", err
	}
	out, next := cutPage(out, n, func(k store.StaticKey) string {
		return strconv.FormatInt(ts(k.CreatedAt), 10) + "\x00" + k.ID
	})
	return out, next, nil
}

// FindPermissions pages through the team's permissions by principal,
// action and resource.
func (q *queries) FindPermissions(ctx context.Context, team string, f store.PermissionFilter, p store.Page) (_ []store.Permission, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	parts, err := decodeCursorParts(p.Cursor, 3)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	w := &where{}
	w.add("team = " + w.arg(team))
	if p.Cursor != "" {
		w.add("(principal, action, resource) > (" + w.arg(parts[0]) + ", " + w.arg(parts[1]) + ", " + w.arg(parts[2]) + ")")
	}
	if f.Principal != "" {
		w.add("principal = " + w.arg(f.Principal))
	}
	out, err := queryAll(ctx, q, "find permissions", scanPermission,
		`SELECT team, principal, action, resource, created_at FROM permissions`+w.String()+
			` ORDER BY principal, action, resource LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", err
	}
	out, next := cutPage(out, n, func(pm store.Permission) string {
		return pm.Principal + "\x00" + pm.Action + "\x00" + pm.Resource
	})
	return out, next, nil
}

// rowScanner is what a scan function reads a row from.
type rowScanner = interface{ Scan(...any) error }

// queryAll runs query and scans each of its rows with scan; what names the
// operation in errors.
func queryAll[T any](ctx context.Context, q *queries, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, q.fail(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, q.fail(what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail(what, err)
	}
	return out, nil
}

// cutPage cuts out, read with a limit of n+1, to a page of n, and returns
// the cursor of the next page ("" when out was the last), the key of the
// page's last record.
func cutPage[T any](out []T, n int, key func(T) string) ([]T, string) {
	if len(out) <= n {
		return out, ""
	}
	out = out[:n]
	return out, encodeCursor(key(out[n-1]))
}

// scanApp reads an application row: team, name, created_at.
func scanApp(sc rowScanner) (store.Application, error) {
	var (
		a       store.Application
		created int64
	)
	if err := sc.Scan(&a.Team, &a.Name, &created); err != nil {
		return a, err
	}
	a.CreatedAt = fromTS(created)
	return a, nil
}

// scanPermission reads a permission row: team, principal, action,
// resource, created_at.
func scanPermission(sc rowScanner) (store.Permission, error) {
	var (
		pm      store.Permission
		created int64
	)
	if err := sc.Scan(&pm.Team, &pm.Principal, &pm.Action, &pm.Resource, &created); err != nil {
		return pm, err
	}
	pm.CreatedAt = fromTS(created)
	return pm, nil
}
