package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

const userColumns = `team, id, email, name, password_hash, team_admin, disabled, created_at, updated_at, external_id, given_name, family_name, emails`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var (
		u                store.User
		created, updated int64
		emails           string
	)
	if err := sc.Scan(&u.Team, &u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.TeamAdmin, &u.Disabled, &created, &updated,
		&u.ExternalID, &u.GivenName, &u.FamilyName, &emails); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	if emails != "" && emails != "[]" {
		if err := json.Unmarshal([]byte(emails), &u.Emails); err != nil {
			return store.User{}, fmt.Errorf("user %s: emails: %w", u.ID, err)
		}
	}
	return u, nil
}

// encodeEmails is the emails column of u: a JSON array, at most
// store.MaxEmails long.
func encodeEmails(u store.User) (string, error) {
	if len(u.Emails) > store.MaxEmails {
		return "", fmt.Errorf("user %s: %d emails, at most %d: %w", u.ID, len(u.Emails), store.MaxEmails, store.ErrInvalid)
	}
	if len(u.Emails) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(u.Emails)
	return string(b), err
}

func (q *queries) CreateUser(ctx context.Context, u store.User) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	emails, err := encodeEmails(u)
	if err != nil {
		return err
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	return q.write(ctx, func(x execer) error {
		_, err := x.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			u.Team, u.ID, u.Email, u.Name, u.PasswordHash, u.TeamAdmin, u.Disabled, ts(u.CreatedAt), ts(u.UpdatedAt),
			u.ExternalID, u.GivenName, u.FamilyName, emails)
		if err != nil {
			return q.fail("create user "+u.Email, err)
		}
		return q.changed(ctx, x, u.Team, store.KindUser, u.ID)
	})
}

func (q *queries) User(ctx context.Context, team, id string) (_ store.User, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	u, err := scanUser(q.x.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE team = $1 AND id = $2`, team, id))
	if err != nil {
		return store.User{}, q.fail("user "+id, err)
	}
	return u, nil
}

func (q *queries) UserByEmail(ctx context.Context, team, email string) (_ store.User, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	u, err := scanUser(q.x.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE team = $1 AND email = $2`, team, email))
	if err != nil {
		return store.User{}, q.fail("user "+email, err)
	}
	return u, nil
}

// ListUsers pages through the team's users in email order.
func (q *queries) ListUsers(ctx context.Context, team string, p store.Page) (_ []store.User, _ string, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p)
	out, err := queryAll(ctx, q, "list users", scanUser,
		`SELECT `+userColumns+` FROM users WHERE team = $1 AND email > $2 ORDER BY email LIMIT $3`, team, after, n+1)
	if err != nil {
		return nil, "", err
	}
	out, next := cutPage(out, n, func(u store.User) string { return u.Email })
	return out, next, nil
}

func (q *queries) UpdateUser(ctx context.Context, u store.User) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	emails, err := encodeEmails(u)
	if err != nil {
		return err
	}
	return q.write(ctx, func(x execer) error {
		old, err := scanUser(x.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE team = $1 AND id = $2`, u.Team, u.ID))
		if err != nil {
			return q.fail("update user "+u.ID, err)
		}
		if u.UpdatedAt.IsZero() {
			u.UpdatedAt = old.UpdatedAt
		}
		if _, err := x.ExecContext(ctx, `UPDATE users SET email = $3, name = $4, password_hash = $5, team_admin = $6, disabled = $7,
			updated_at = $8, external_id = $9, given_name = $10, family_name = $11, emails = $12
			WHERE team = $1 AND id = $2`, u.Team, u.ID, u.Email, u.Name, u.PasswordHash, u.TeamAdmin, u.Disabled,
			ts(u.UpdatedAt), u.ExternalID, u.GivenName, u.FamilyName, emails); err != nil {
			return q.fail("update user "+u.ID, err)
		}
		if old.Email != u.Email {
			// Permissions name users by email: they follow the user.
			if _, err := x.ExecContext(ctx, `UPDATE permissions SET principal = $3 WHERE team = $1 AND principal = $2`,
				u.Team, "user:"+old.Email, "user:"+u.Email); err != nil {
				return q.fail("update user "+u.ID, err)
			}
			if err := q.changed(ctx, x, u.Team, store.KindPermission, ""); err != nil {
				return err
			}
		}
		if old.PasswordHash != u.PasswordHash || (u.Disabled && !old.Disabled) {
			// A new password or a disabled account ends every session:
			// a copied cookie must not outlive either.
			n, err := deleteUserSessions(ctx, x, u.Team, u.ID)
			if err != nil {
				return q.fail("update user "+u.ID, err)
			}
			if n > 0 {
				if err := q.changed(ctx, x, u.Team, store.KindSession, u.ID); err != nil {
					return err
				}
			}
		}
		return q.changed(ctx, x, u.Team, store.KindUser, u.ID)
	})
}

// DeleteUser deletes the user with its memberships, consents, codes,
// refresh tokens and sessions (by cascade), its API keys and its
// permissions, so that a later user with the same email inherits nothing.
func (q *queries) DeleteUser(ctx context.Context, team, id string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		u, err := scanUser(x.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE team = $1 AND id = $2`, team, id))
		if err != nil {
			return q.fail("delete user "+id, err)
		}
		for _, s := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM permissions WHERE team = $1 AND principal = $2`, []any{team, "user:" + u.Email}},
			{`DELETE FROM static_keys WHERE team = $1 AND kind = 'user' AND owner = $2`, []any{team, id}},
			{`DELETE FROM users WHERE team = $1 AND id = $2`, []any{team, id}},
		} {
			if _, err := x.ExecContext(ctx, s.sql, s.args...); err != nil {
				return q.fail("delete user "+id, err)
			}
		}
		for _, kind := range []string{store.KindUser, store.KindPermission, store.KindKey, store.KindGroup, store.KindConsent, store.KindRefresh, store.KindSession} {
			key := ""
			if kind == store.KindUser || kind == store.KindSession {
				key = id
			}
			if err := q.changed(ctx, x, team, kind, key); err != nil {
				return err
			}
		}
		return nil
	})
}
