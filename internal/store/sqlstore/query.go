package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The directory queries (store.QueryUsers, store.QueryGroups): a
// store.Cond becomes SQL twice. Its full form selects exactly the records
// the condition selects; its driving form keeps only the comparisons an
// index serves (equality, prefixes and ranges of indexed columns) and
// widens every other to "true", so that it selects a superset of the
// records through indexes alone. When the two differ, the driving form
// is counted first, up to store.MaxExamined+1: more than MaxExamined is
// ErrTooBroad, found by reading at most that many index entries, and
// never a scan of the team's whole table behind an innocent filter.

// valueKind is the kind of value a column compares with.
type valueKind int

const (
	kindString valueKind = iota
	kindBool
	kindTime
)

// column is how a field compares in SQL.
type column struct {
	expr    string              // the SQL expression compared (as an index holds it, if indexed)
	kind    valueKind           //
	fold    func(string) string // applied to a string value (nil: exact)
	indexed bool                // an index of (team, expr) serves comparisons
	always  bool                // never empty: Pr is true
}

// table is what a query reads: the table, the columns of its fields, and
// how a multi-valued field's elements compare.
type table struct {
	name    string
	counted string // the column of directory_counts that counts the team's records
	columns map[store.Field]column
	// any translates an Any condition on a multi-valued field.
	any func(t *translator, c store.Cond) (string, bool, error)
}

func (q *queries) usersTable() table {
	f := q.d.folded
	return table{name: "users", counted: "user_count", columns: map[store.Field]column{
		store.FieldUserID:         {expr: "id", indexed: true, always: true},
		store.FieldUserEmail:      {expr: "email", fold: strings.ToLower, indexed: true, always: true},
		store.FieldUserName:       {expr: f("name"), fold: foldASCII, indexed: true, always: true},
		store.FieldUserExternalID: {expr: "external_id", indexed: true},
		store.FieldUserGivenName:  {expr: f("given_name"), fold: foldASCII},
		store.FieldUserFamilyName: {expr: f("family_name"), fold: foldASCII},
		store.FieldUserDisabled:   {expr: "disabled", kind: kindBool, always: true},
		store.FieldUserCreated:    {expr: "created_at", kind: kindTime, indexed: true, always: true},
		store.FieldUserUpdated:    {expr: "updated_at", kind: kindTime, indexed: true, always: true},
	}, any: (*translator).anyEmail}
}

func (q *queries) groupsTable() table {
	return table{name: "user_groups", counted: "group_count", columns: map[store.Field]column{
		store.FieldGroupID:         {expr: "id", indexed: true, always: true},
		store.FieldGroupName:       {expr: q.d.folded("name"), fold: foldASCII, indexed: true, always: true},
		store.FieldGroupExternalID: {expr: "external_id", indexed: true},
		store.FieldGroupCreated:    {expr: "created_at", kind: kindTime, indexed: true, always: true},
		store.FieldGroupUpdated:    {expr: "updated_at", kind: kindTime, indexed: true, always: true},
	}, any: (*translator).anyMember}
}

// translator writes a condition as SQL, its arguments numbered in w.
type translator struct {
	d     dialect
	w     *where
	tab   table
	team  string
	drive bool // the driving form: only what indexes serve
	// plain: comparisons that no index serves (dialect.unindexed), for a
	// page read in the order of another index.
	plain bool
	depth int
}

// maxDepth bounds the nesting of a condition.
const maxDepth = 50

// cond returns c as SQL ("" is true) and whether indexes alone serve it
// exactly. What a part that comes out as "" added to the arguments is
// taken back: no placeholder names it.
func (t *translator) cond(c store.Cond) (string, bool, error) {
	mark := len(t.w.args)
	s, exact, err := t.cond1(c)
	if s == "" {
		t.w.args = t.w.args[:mark]
	}
	return s, exact, err
}

func (t *translator) cond1(c store.Cond) (string, bool, error) {
	if t.depth++; t.depth > maxDepth {
		return "", false, fmt.Errorf("condition nested more than %d deep: %w", maxDepth, store.ErrInvalid)
	}
	defer func() { t.depth-- }()
	switch c.Op {
	case store.OpAnd, store.OpOr:
		if len(c.Of) < 2 {
			return "", false, fmt.Errorf("%s of %d conditions: %w", c.Op, len(c.Of), store.ErrInvalid)
		}
		var parts []string
		exact, widened := true, false
		for _, sub := range c.Of {
			s, ex, err := t.cond(sub)
			if err != nil {
				return "", false, err
			}
			exact = exact && ex
			if s == "" {
				widened = true
				continue
			}
			parts = append(parts, s)
		}
		if c.Op == store.OpOr && widened || len(parts) == 0 {
			return "", exact, nil
		}
		return "(" + strings.Join(parts, " "+strings.ToUpper(string(c.Op))+" ") + ")", exact, nil
	case store.OpNot:
		if len(c.Of) != 1 {
			return "", false, fmt.Errorf("not of %d conditions: %w", len(c.Of), store.ErrInvalid)
		}
		s, _, err := t.cond(c.Of[0])
		if err != nil || t.drive {
			return "", false, err
		}
		if s == "" {
			s = "1 = 1"
		}
		return "NOT " + s, false, nil
	case store.OpAny:
		if len(c.Of) != 1 {
			return "", false, fmt.Errorf("any of %d conditions: %w", len(c.Of), store.ErrInvalid)
		}
		return t.tab.any(t, c)
	}
	col, ok := t.tab.columns[c.Field]
	if !ok {
		return "", false, fmt.Errorf("%s has no field %q: %w", t.tab.name, c.Field, store.ErrInvalid)
	}
	if t.plain {
		col.expr = t.d.unindexed(col.expr)
	}
	return t.compare(col, c)
}

// compare writes a comparison of col with c's value.
func (t *translator) compare(col column, c store.Cond) (string, bool, error) {
	bad := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("%s %s %v: %s: %w", c.Field, c.Op, c.Value, why, store.ErrInvalid)
	}
	// serve returns an indexed comparison, or "" in the driving form of
	// one that is not indexed (whose arguments sql then never adds).
	serve := func(indexed bool, sql func() string) (string, bool, error) {
		if t.drive && !indexed {
			return "", false, nil
		}
		return sql(), indexed, nil
	}
	if c.Op == store.OpPr {
		switch {
		case col.always:
			return "", true, nil
		case col.kind != kindString:
			return "", true, nil
		}
		return serve(col.indexed, func() string { return col.expr + " > ''" })
	}
	var arg any
	switch col.kind {
	case kindString:
		s, ok := c.Value.(string)
		if !ok {
			return bad("want a string")
		}
		if col.fold != nil {
			s = col.fold(s)
		}
		arg = s
	case kindBool:
		b, ok := c.Value.(bool)
		if !ok {
			return bad("want true or false")
		}
		if c.Op != store.OpEq && c.Op != store.OpNe {
			return bad("true or false compares only with eq and ne")
		}
		arg = b
	case kindTime:
		tm, ok := c.Value.(time.Time)
		if !ok {
			return bad("want a time")
		}
		arg = ts(tm)
	}
	switch c.Op {
	case store.OpEq:
		return serve(col.indexed, func() string { return col.expr + " = " + t.w.arg(arg) })
	case store.OpNe:
		return serve(false, func() string { return col.expr + " <> " + t.w.arg(arg) })
	case store.OpGt, store.OpGe, store.OpLt, store.OpLe:
		op := map[store.Op]string{store.OpGt: " > ", store.OpGe: " >= ", store.OpLt: " < ", store.OpLe: " <= "}[c.Op]
		return serve(col.indexed, func() string { return col.expr + op + t.w.arg(arg) })
	}
	if col.kind != kindString {
		return bad("co, sw and ew compare strings")
	}
	s := arg.(string)
	switch c.Op {
	case store.OpSw:
		if s == "" {
			return "", true, nil // every string starts with ""
		}
		// A range of the index, and the exact test that keeps a collation
		// that orders otherwise from widening it.
		if t.drive && !col.indexed {
			return "", false, nil
		}
		rng := col.expr + " >= " + t.w.arg(s) + " AND " + col.expr + " < " + t.w.arg(s+"\U0010FFFF")
		if t.drive {
			return "(" + rng + ")", true, nil
		}
		return "(" + rng + " AND substr(" + col.expr + ", 1, " + t.w.arg(utf8.RuneCountInString(s)) + ") = " + t.w.arg(s) + ")", col.indexed, nil
	case store.OpEw:
		return serve(false, func() string {
			n := t.w.arg(utf8.RuneCountInString(s))
			return "(length(" + col.expr + ") >= " + n + " AND substr(" + col.expr + ", length(" + col.expr + ") - " + n + " + 1) = " + t.w.arg(s) + ")"
		})
	case store.OpCo:
		return serve(false, func() string { return t.d.contains(col.expr, t.w.arg(s)) })
	}
	return bad("unknown operator")
}

// anyEmail writes "some email of the user meets c.Of[0]": a test of the
// user's emails (JSON), which no index serves.
func (t *translator) anyEmail(c store.Cond) (string, bool, error) {
	if c.Field != store.FieldUserEmails {
		return "", false, fmt.Errorf("users have no multi-valued field %q: %w", c.Field, store.ErrInvalid)
	}
	from, text, boolean := t.d.jsonElements("users.emails")
	elem := translator{d: t.d, w: t.w, team: t.team, drive: t.drive, depth: t.depth, tab: table{name: "email", columns: map[store.Field]column{
		store.FieldEmailValue:   {expr: t.d.folded(text("value")), fold: foldASCII},
		store.FieldEmailType:    {expr: t.d.folded(text("type")), fold: foldASCII},
		store.FieldEmailDisplay: {expr: t.d.folded(text("display")), fold: foldASCII},
		store.FieldEmailPrimary: {expr: boolean("primary"), kind: kindBool, always: true},
	}, any: func(*translator, store.Cond) (string, bool, error) {
		return "", false, fmt.Errorf("an email has no multi-valued field: %w", store.ErrInvalid)
	}}}
	s, _, err := elem.cond(c.Of[0])
	if err != nil || t.drive {
		return "", false, err
	}
	if s == "" {
		s = "1 = 1"
	}
	return "EXISTS (SELECT 1 FROM " + from + " WHERE " + s + ")", false, nil
}

// anyMember writes "some member of the group is this user", the one test
// of members there is: the groups of a user, through the memberships'
// index by user.
func (t *translator) anyMember(c store.Cond) (string, bool, error) {
	in := c.Of[0]
	if c.Field != store.FieldGroupMembers || in.Op != store.OpEq || in.Field != store.FieldMemberValue {
		return "", false, fmt.Errorf("members compare only by value eq a user ID: %w", store.ErrInvalid)
	}
	id, ok := in.Value.(string)
	if !ok {
		return "", false, fmt.Errorf("members value: want a string: %w", store.ErrInvalid)
	}
	return "name IN (SELECT group_name FROM group_members WHERE team = " + t.w.arg(t.team) + " AND user_id = " + t.w.arg(id) + ")", true, nil
}

// orderBy is the ORDER BY of a query, the field's column then the ID,
// twice: as indexes hold it, for a page read in the order of an index,
// and as no index holds it, for a page of few records, which the planner
// then finds through the condition's index and sorts.
func orderBy(tab table, q store.Query, idField store.Field) (indexed, sorted string, err error) {
	dir := ""
	if q.Desc {
		dir = " DESC"
	}
	if q.SortBy == "" || q.SortBy == idField {
		return " ORDER BY id" + dir, " ORDER BY (id || '')" + dir, nil
	}
	col, ok := tab.columns[q.SortBy]
	if !ok || !col.indexed {
		return "", "", fmt.Errorf("%s cannot be sorted by %q: %w", tab.name, q.SortBy, store.ErrInvalid)
	}
	unindexed := "(" + col.expr + " || '')"
	if col.kind == kindTime {
		unindexed = "(" + col.expr + " + 0)"
	}
	return " ORDER BY " + col.expr + dir + ", id" + dir, " ORDER BY " + unindexed + dir + ", (id || '')" + dir, nil
}

// plan is a query's SQL: the full condition with its arguments, also
// written so that no index serves it (for a page in the order of an
// index), and its orders (orderBy).
type plan struct {
	where, plain    *where // team = $1 AND the full condition
	indexed, sorted string
	all             bool // no condition: every record of the team
}

// planQuery translates q on tab, checks that indexes bound it, and
// returns the plan.
func (q *queries) planQuery(ctx context.Context, tab table, team string, qu store.Query, idField store.Field) (plan, error) {
	if qu.Limit < 0 || qu.Limit > maxPageSize || qu.Offset < 0 {
		return plan{}, fmt.Errorf("query limit %d, offset %d: want a limit of 0 to %d and an offset of 0 or more: %w",
			qu.Limit, qu.Offset, maxPageSize, store.ErrInvalid)
	}
	indexed, sorted, err := orderBy(tab, qu, idField)
	if err != nil {
		return plan{}, err
	}
	full := &where{}
	full.add("team = " + full.arg(team))
	if qu.Where == nil {
		return plan{where: full, plain: full, indexed: indexed, sorted: sorted, all: true}, nil
	}
	ft := translator{d: q.d, w: full, tab: tab, team: team}
	s, exact, err := ft.cond(*qu.Where)
	if err != nil {
		return plan{}, err
	}
	if s != "" {
		full.add(s)
	}
	plain := &where{}
	plain.add("team = " + plain.arg(team))
	pt := translator{d: q.d, w: plain, tab: tab, team: team, plain: true}
	if s, _, err := pt.cond(*qu.Where); err != nil {
		return plan{}, err
	} else if s != "" {
		plain.add(s)
	}
	if !exact {
		drive := &where{}
		drive.add("team = " + drive.arg(team))
		dt := translator{d: q.d, w: drive, tab: tab, team: team, drive: true}
		ds, _, err := dt.cond(*qu.Where)
		if err != nil {
			return plan{}, err
		}
		if ds != "" {
			drive.add(ds)
		}
		var n int
		if err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+tab.name+drive.String()+
			` LIMIT `+drive.arg(store.MaxExamined+1)+`) AS candidates`, q.planEach(drive.args)...).Scan(&n); err != nil {
			return plan{}, q.fail("query "+tab.name, err)
		}
		if n > store.MaxExamined {
			return plan{}, fmt.Errorf("query %s: more than %d records to examine: %w", tab.name, store.MaxExamined, store.ErrTooBroad)
		}
	}
	return plan{where: full, plain: plain, indexed: indexed, sorted: sorted}, nil
}

// planEach is the arguments of a directory query, led by what has the
// database plan it for its values on every call (dialect.oneShot).
func (q *queries) planEach(args []any) []any { return append(q.d.oneShot(), args...) }

// count counts what p selects: every record of the team is one row of
// directory_counts, which triggers keep; a condition is counted through
// indexes alone when it is exact, else on the candidates that planQuery
// bounded.
func (q *queries) count(ctx context.Context, tab table, team string, p plan) (int, error) {
	var n int
	if p.all {
		err := q.x.QueryRowContext(ctx, `SELECT `+tab.counted+` FROM directory_counts WHERE team = $1`, team).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // a team without a user or group yet
		}
		if err != nil {
			return 0, q.fail("count "+tab.name, err)
		}
		return n, nil
	}
	if err := q.x.QueryRowContext(ctx, `SELECT count(*) FROM `+tab.name+p.where.String(), q.planEach(p.where.args)...).Scan(&n); err != nil {
		return 0, q.fail("count "+tab.name, err)
	}
	return n, nil
}

// page is the SQL of p's page of a query that selects n records, with the
// arguments. A page of few records (at most store.MaxExamined) is sorted
// after the condition's indexes found them; of more, it is read in the
// order of an index, testing the condition on each record (no index of
// it is used then: the planner would rather read them all and sort), which
// stops once the page is full. The page's IDs come first and then their
// rows, so that the records skipped to reach an offset are index
// entries, not rows.
func (p plan) page(columns, table string, qu store.Query, n int) (string, []any) {
	src, order := p.where, p.sorted
	if n > store.MaxExamined {
		src, order = p.plain, p.indexed
	}
	w := &where{conds: src.conds, args: append([]any(nil), src.args...)}
	ids := `SELECT id FROM ` + table + w.String() + order + ` LIMIT ` + w.arg(qu.Limit) + ` OFFSET ` + w.arg(qu.Offset)
	return `SELECT ` + columns + ` FROM ` + table + ` WHERE team = $1 AND id IN (` + ids + `)` + p.sorted, w.args
}

// QueryUsers returns the page of the team's users that qu selects, and
// how many it selects.
func (q *queries) QueryUsers(ctx context.Context, team string, qu store.Query) (_ []store.User, _ int, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	tab := q.usersTable()
	p, err := q.planQuery(ctx, tab, team, qu, store.FieldUserID)
	if err != nil {
		return nil, 0, err
	}
	n, err := q.count(ctx, tab, team, p)
	if err != nil || qu.Limit == 0 || qu.Offset >= n {
		return nil, n, err
	}
	query, args := p.page(userColumns, "users", qu, n)
	out, err := queryAll(ctx, q, "query users", scanUser, query, q.planEach(args)...)
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// QueryGroups returns the page of the team's groups that qu selects, with
// their members if asked, and how many it selects.
func (q *queries) QueryGroups(ctx context.Context, team string, qu store.Query) (_ []store.Group, _ int, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	tab := q.groupsTable()
	p, err := q.planQuery(ctx, tab, team, qu, store.FieldGroupID)
	if err != nil {
		return nil, 0, err
	}
	n, err := q.count(ctx, tab, team, p)
	if err != nil || qu.Limit == 0 || qu.Offset >= n {
		return nil, n, err
	}
	query, args := p.page(`team, id, name, external_id, created_at, updated_at, NULL`, "user_groups", qu, n)
	out, err := q.groupsIn(ctx, q.x, query, q.planEach(args)...)
	if err != nil {
		return nil, 0, q.fail("query groups", err)
	}
	if qu.WithMembers && len(out) > 0 {
		args := []any{team}
		marks := make([]string, 0, len(out))
		at := make(map[string]int, len(out))
		for i, g := range out {
			args = append(args, g.Name)
			marks = append(marks, "$"+strconv.Itoa(len(args)))
			at[g.Name] = i
		}
		// One row per group, its members' IDs (UUIDs, which hold no
		// space) joined in ID order: a page of 100 groups of 100 members
		// is 100 rows, not 10,000.
		type members struct{ group, ids string }
		ms, err := queryAll(ctx, q, "query groups", func(sc rowScanner) (members, error) {
			var m members
			return m, sc.Scan(&m.group, &m.ids)
		}, `SELECT group_name, string_agg(user_id, ' ' ORDER BY user_id) FROM group_members
			WHERE team = $1 AND group_name IN (`+strings.Join(marks, ", ")+`) GROUP BY group_name`, args...)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range ms {
			g := &out[at[m.group]]
			g.Members = strings.Fields(m.ids)
		}
	}
	return out, n, nil
}
