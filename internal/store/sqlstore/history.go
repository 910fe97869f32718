package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AppendAudit appends events in one transaction, in order; an event
// whose EventID its team's log holds already is skipped (ON CONFLICT DO
// NOTHING on the unique index of (team, event_id)). It announces no
// change. SQLite takes the rows through one prepared single-row INSERT
// (in process, a statement per row costs less than a multi-row VALUES
// list, which modernc's driver binds slowly: 3.5 times the CPU per event
// measured); PostgreSQL takes them as one INSERT ... SELECT FROM unnest of
// one array per column: one round trip per batch, which works through
// database/sql inside the transaction and takes ON CONFLICT directly (COPY
// would need a staging table and a second statement for it).
func (q *queries) AppendAudit(ctx context.Context, events ...store.AuditEvent) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	if len(events) == 0 {
		return nil
	}
	return q.write(ctx, func(x execer) error {
		if q.d.name() == "postgres" {
			return q.appendAuditArrays(ctx, x, events)
		}
		return q.appendAuditRows(ctx, x, events)
	})
}

// auditDetail is an event's detail as stored: a JSON object.
func auditDetail(e store.AuditEvent) (string, error) {
	if len(e.Detail) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(e.Detail)
	if err != nil {
		return "", fmt.Errorf("append audit event: %w", err)
	}
	return string(b), nil
}

const auditColumns = `team, at, actor, action, target, ip, user_agent, detail, event_id`

func (q *queries) appendAuditRows(ctx context.Context, x execer, events []store.AuditEvent) error {
	const insert = `INSERT INTO audit_events (` + auditColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`
	exec := x.ExecContext
	if p, ok := x.(interface {
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	}); ok && len(events) > 1 {
		st, err := p.PrepareContext(ctx, insert)
		if err != nil {
			return q.fail("append audit event", err)
		}
		defer st.Close()
		exec = func(ctx context.Context, _ string, args ...any) (sql.Result, error) {
			return st.ExecContext(ctx, args...)
		}
	}
	for _, e := range events {
		detail, err := auditDetail(e)
		if err != nil {
			return err
		}
		var id any
		if e.EventID != "" {
			id = e.EventID
		}
		if _, err := exec(ctx, insert, e.Team, ts(e.At), e.Actor, e.Action, e.Target, e.IP, e.UserAgent, detail, id); err != nil {
			return q.fail("append audit events", err)
		}
	}
	return nil
}

const auditInsertArrays = `INSERT INTO audit_events (` + auditColumns + `)
	SELECT team, at, actor, action, target, ip, user_agent, detail, NULLIF(event_id, '')
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
		WITH ORDINALITY AS e(team, at, actor, action, target, ip, user_agent, detail, event_id, n)
	ORDER BY n
	ON CONFLICT DO NOTHING`

func (q *queries) appendAuditArrays(ctx context.Context, x execer, events []store.AuditEvent) error {
	n := len(events)
	var (
		teams, actors, actions, targets = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ips, agents, details, ids       = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ats                             = make([]int64, n)
	)
	for i, e := range events {
		detail, err := auditDetail(e)
		if err != nil {
			return err
		}
		teams[i], ats[i], actors[i], actions[i], targets[i] = e.Team, ts(e.At), e.Actor, e.Action, e.Target
		ips[i], agents[i], details[i], ids[i] = e.IP, e.UserAgent, detail, e.EventID
	}
	if _, err := x.ExecContext(ctx, auditInsertArrays, teams, ats, actors, actions, targets, ips, agents, details, ids); err != nil {
		return q.fail("append audit events", err)
	}
	return nil
}

// Histories are listed newest first by (time, id); a cursor is the last
// (time, id) of a page, and 0, 0 means "from the newest".
func historyCursor(p store.Page) (at, id int64, err error) {
	if p.Cursor == "" {
		return 0, 0, nil
	}
	s, err := decodeCursor(p.Cursor)
	if err != nil {
		return 0, 0, err
	}
	a, b, ok := strings.Cut(s, ".")
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || id <= 0 {
		return 0, 0, fmt.Errorf("bad cursor: %w", store.ErrInvalid)
	}
	return at, id, nil
}

func encodeHistoryCursor(at time.Time, id int64) string {
	return encodeCursor(strconv.FormatInt(ts(at), 10) + "." + strconv.FormatInt(id, 10))
}

// bound is a filter time as stored, 0 meaning "no bound".
func bound(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ts(t)
}

// historyWhere is the condition of a history's page: the team, after the
// cursor (at, id; 0, 0 for the newest), within since and until.
func historyWhere(team string, cAt, cID int64, since, until time.Time) *where {
	w := &where{}
	w.add("team = " + w.arg(team))
	if cID != 0 {
		a, i := w.arg(cAt), w.arg(cID)
		w.add("(at < " + a + " OR (at = " + a + " AND id < " + i + "))")
	}
	if b := bound(since); b != 0 {
		w.add("at >= " + w.arg(b))
	}
	if b := bound(until); b != 0 {
		w.add("at < " + w.arg(b))
	}
	return w
}

// ListAudit pages through the team's audit log, newest first.
func (q *queries) ListAudit(ctx context.Context, team string, f store.AuditFilter, p store.Page) (_ []store.AuditEvent, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	cAt, cID, err := historyCursor(p)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	// Only the filters given are in the statement, so that the planner
	// sees them: one actor's, action's or target's events are a range of
	// that column's index (migration 0013), in the listing's order.
	// With several filters a planner could range over the widest (an
	// action that most events have) and filter the rest: SQLite keeps no
	// statistics, and PostgreSQL's lag behind a burst of events. Both are
	// told to use the index of the first given of target and actor (which
	// name one record or principal), then action, and to test the others
	// row by row (an expression, col || '', keeps a column off its index).
	w := historyWhere(team, cAt, cID, f.Since, f.Until)
	indexed := false
	for _, c := range []struct{ col, v string }{{"target", f.Target}, {"actor", f.Actor}, {"action", f.Action}} {
		if c.v == "" {
			continue
		}
		col := c.col
		if indexed {
			col += " || ''"
		}
		indexed = true
		w.add(col + " = " + w.arg(c.v))
	}
	rows, err := q.x.QueryContext(ctx, `SELECT id, team, at, actor, action, target, ip, user_agent, detail, COALESCE(event_id, '') FROM audit_events`+
		w.String()+` ORDER BY at DESC, id DESC LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", q.fail("list audit events", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var (
			e      store.AuditEvent
			at     int64
			detail string
		)
		if err := rows.Scan(&e.ID, &e.Team, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.UserAgent, &detail, &e.EventID); err != nil {
			return nil, "", q.fail("list audit events", err)
		}
		e.At = fromTS(at)
		if detail != "{}" && detail != "" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, "", fmt.Errorf("list audit events: detail of %d: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", q.fail("list audit events", err)
	}
	var next string
	if len(out) > n {
		out = out[:n]
		next = encodeHistoryCursor(out[n-1].At, out[n-1].ID)
	}
	return out, next, nil
}

// AppendLogin appends a login attempt; it announces no change.
func (q *queries) AppendLogin(ctx context.Context, e store.LoginEvent) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO login_events (team, at, email, user_id, success, reason, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.Team, ts(e.At), e.Email, e.UserID, e.Success, e.Reason, e.IP, e.UserAgent); err != nil {
			return q.fail("append login event", err)
		}
		return nil
	})
}

// ListLogins pages through the team's login history, newest first.
func (q *queries) ListLogins(ctx context.Context, team string, f store.LoginFilter, p store.Page) (_ []store.LoginEvent, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	cAt, cID, err := historyCursor(p)
	if err != nil {
		return nil, "", err
	}
	switch f.Result {
	case "", "success", "failure":
	default:
		return nil, "", fmt.Errorf("list login events: result %q: %w", f.Result, store.ErrInvalid)
	}
	n := pageSize(p)
	w := historyWhere(team, cAt, cID, f.Since, f.Until)
	if f.Email != "" {
		w.add("email = " + w.arg(f.Email))
	}
	if f.Result != "" {
		w.add("success = " + w.arg(f.Result == "success"))
	}
	rows, err := q.x.QueryContext(ctx, `SELECT id, team, at, email, user_id, success, reason, ip, user_agent FROM login_events`+
		w.String()+` ORDER BY at DESC, id DESC LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, "", q.fail("list login events", err)
	}
	defer rows.Close()
	var out []store.LoginEvent
	for rows.Next() {
		var (
			e  store.LoginEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &e.Team, &at, &e.Email, &e.UserID, &e.Success, &e.Reason, &e.IP, &e.UserAgent); err != nil {
			return nil, "", q.fail("list login events", err)
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", q.fail("list login events", err)
	}
	var next string
	if len(out) > n {
		out = out[:n]
		next = encodeHistoryCursor(out[n-1].At, out[n-1].ID)
	}
	return out, next, nil
}
