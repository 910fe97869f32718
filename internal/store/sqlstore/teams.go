package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const teamColumns = `name, created_at, access_token_ttl, scope_format, signing_alg,
	sk_deprecated_since, sk_sunset_at, sk_link, sk_refuse_new`

func scanTeam(sc interface{ Scan(...any) error }) (store.Team, error) {
	var (
		t         store.Team
		created   int64
		ttl       int64
		dep, sun  sql.NullInt64
		refuseNew bool
	)
	if err := sc.Scan(&t.Name, &created, &ttl, &t.Settings.ScopeFormat, &t.Settings.SigningAlg,
		&dep, &sun, &t.Settings.StaticKeysLink, &refuseNew); err != nil {
		return store.Team{}, err
	}
	t.CreatedAt = fromTS(created)
	t.Settings.AccessTokenTTL = time.Duration(ttl)
	t.Settings.StaticKeysDeprecatedSince = fromNullTS(dep)
	t.Settings.StaticKeysSunsetAt = fromNullTS(sun)
	t.Settings.StaticKeysRefuseNew = refuseNew
	return t, nil
}

func (q *queries) CreateTeam(ctx context.Context, t store.Team) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		s := t.Settings
		_, err := x.ExecContext(ctx, `INSERT INTO teams (`+teamColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.Name, ts(t.CreatedAt), int64(s.AccessTokenTTL), s.ScopeFormat, s.SigningAlg,
			nullTS(s.StaticKeysDeprecatedSince), nullTS(s.StaticKeysSunsetAt), s.StaticKeysLink, s.StaticKeysRefuseNew)
		if err != nil {
			return q.fail("create team "+t.Name, err)
		}
		return q.changed(ctx, x, t.Name, store.KindTeam, t.Name)
	})
}

func (q *queries) Team(ctx context.Context, name string) (_ store.Team, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	t, err := scanTeam(q.x.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE name = $1`, name))
	if err != nil {
		return store.Team{}, q.fail("team "+name, err)
	}
	return t, nil
}

func (q *queries) ListTeams(ctx context.Context) (_ []store.Team, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+teamColumns+` FROM teams ORDER BY name`)
	if err != nil {
		return nil, q.fail("list teams", err)
	}
	defer rows.Close()
	var out []store.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, q.fail("list teams", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list teams", err)
	}
	return out, nil
}

func (q *queries) UpdateTeamSettings(ctx context.Context, name string, s store.TeamSettings) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE teams SET access_token_ttl = $2, scope_format = $3, signing_alg = $4,
			sk_deprecated_since = $5, sk_sunset_at = $6, sk_link = $7, sk_refuse_new = $8 WHERE name = $1`,
			name, int64(s.AccessTokenTTL), s.ScopeFormat, s.SigningAlg,
			nullTS(s.StaticKeysDeprecatedSince), nullTS(s.StaticKeysSunsetAt), s.StaticKeysLink, s.StaticKeysRefuseNew)
		if err != nil {
			return q.fail("update team "+name, err)
		}
		if err := affected("update team "+name, res); err != nil {
			return err
		}
		return q.changed(ctx, x, name, store.KindTeam, name)
	})
}

// DeleteTeam deletes the team and, by cascade, everything in it, including
// its audit and login history.
func (q *queries) DeleteTeam(ctx context.Context, name string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM teams WHERE name = $1`, name)
		if err != nil {
			return q.fail("delete team "+name, err)
		}
		if err := affected("delete team "+name, res); err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM audit_events WHERE team = $1`, name); err != nil {
			return q.fail("delete team "+name, err)
		}
		// Failure counts name no team row (an address's belong to none).
		if _, err := x.ExecContext(ctx, `DELETE FROM failure_counts WHERE team = $1`, name); err != nil {
			return q.fail("delete team "+name, err)
		}
		// Every kind of the team is gone.
		return q.changed(ctx, x, name, "", "")
	})
}

// LockTeam takes the team's row lock (PostgreSQL) or the database's write
// lock (SQLite) with a write that changes nothing.
func (q *queries) LockTeam(ctx context.Context, name string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE teams SET name = name WHERE name = $1`, name)
		if err != nil {
			return q.fail("lock team "+name, err)
		}
		return affected("lock team "+name, res)
	})
}
