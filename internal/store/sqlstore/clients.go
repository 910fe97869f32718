package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const clientColumns = `team, id, name, grant_types, auth_method, scopes, redirect_uris, access_token_ttl, created_at,
	id_token_alg, post_logout_redirect_uris`

func scanClient(sc interface{ Scan(...any) error }) (store.Client, error) {
	var (
		c                        store.Client
		grants, scopes, redirect string
		postLogout               string
		ttl, created             int64
	)
	if err := sc.Scan(&c.Team, &c.ID, &c.Name, &grants, &c.AuthMethod, &scopes, &redirect, &ttl, &created,
		&c.IDTokenAlg, &postLogout); err != nil {
		return store.Client{}, err
	}
	c.GrantTypes, c.Scopes, c.RedirectURIs = splitList(grants), splitList(scopes), splitList(redirect)
	c.PostLogoutRedirectURIs = splitList(postLogout)
	c.AccessTokenTTL = time.Duration(ttl)
	c.CreatedAt = fromTS(created)
	return c, nil
}

// CreateClient stores the client and its secrets.
func (q *queries) CreateClient(ctx context.Context, c store.Client) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		if _, err := x.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.Team, c.ID, c.Name, joinList(c.GrantTypes), c.AuthMethod, joinList(c.Scopes), joinList(c.RedirectURIs),
			int64(c.AccessTokenTTL), ts(c.CreatedAt), c.IDTokenAlg, joinList(c.PostLogoutRedirectURIs)); err != nil {
			return q.fail("create client "+c.ID, err)
		}
		for _, s := range c.Secrets {
			if err := q.insertSecret(ctx, x, c.Team, c.ID, s); err != nil {
				return err
			}
		}
		return q.changed(ctx, x, c.Team, store.KindClient, c.ID)
	})
}

func (q *queries) insertSecret(ctx context.Context, x execer, team, clientID string, s store.ClientSecret) error {
	if _, err := x.ExecContext(ctx, `INSERT INTO client_secrets (team, client_id, id, hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, team, clientID, s.ID, s.Hash, ts(s.CreatedAt), nullTS(s.ExpiresAt)); err != nil {
		return q.fail("add secret to client "+clientID, err)
	}
	return nil
}

func (q *queries) Client(ctx context.Context, team, id string) (_ store.Client, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	c, err := scanClient(q.x.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE team = $1 AND id = $2`, team, id))
	if err != nil {
		return store.Client{}, q.fail("client "+id, err)
	}
	secrets, err := q.secrets(ctx, `WHERE team = $1 AND client_id = $2`, team, id)
	if err != nil {
		return store.Client{}, q.fail("client "+id, err)
	}
	c.Secrets = secrets[id]
	return c, nil
}

func (q *queries) ListClients(ctx context.Context, team string) (_ []store.Client, err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	rows, err := q.x.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE team = $1 ORDER BY name, id`, team)
	if err != nil {
		return nil, q.fail("list clients", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, q.fail("list clients", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, q.fail("list clients", err)
	}
	secrets, err := q.secrets(ctx, `WHERE team = $1`, team)
	if err != nil {
		return nil, q.fail("list clients", err)
	}
	for i := range out {
		out[i].Secrets = secrets[out[i].ID]
	}
	return out, nil
}

// secrets reads client secrets by client, oldest first.
func (q *queries) secrets(ctx context.Context, where string, args ...any) (map[string][]store.ClientSecret, error) {
	rows, err := q.x.QueryContext(ctx, `SELECT client_id, id, hash, created_at, expires_at FROM client_secrets `+where+
		` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]store.ClientSecret{}
	for rows.Next() {
		var (
			clientID string
			s        store.ClientSecret
			created  int64
			expires  sql.NullInt64
		)
		if err := rows.Scan(&clientID, &s.ID, &s.Hash, &created, &expires); err != nil {
			return nil, err
		}
		s.CreatedAt, s.ExpiresAt = fromTS(created), fromNullTS(expires)
		out[clientID] = append(out[clientID], s)
	}
	return out, rows.Err()
}

// UpdateClient changes the client's registration; its secrets are changed
// only through AddClientSecret.
func (q *queries) UpdateClient(ctx context.Context, c store.Client) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `UPDATE clients SET name = $3, grant_types = $4, auth_method = $5, scopes = $6,
			redirect_uris = $7, access_token_ttl = $8, id_token_alg = $9, post_logout_redirect_uris = $10
			WHERE team = $1 AND id = $2`,
			c.Team, c.ID, c.Name, joinList(c.GrantTypes), c.AuthMethod, joinList(c.Scopes), joinList(c.RedirectURIs),
			int64(c.AccessTokenTTL), c.IDTokenAlg, joinList(c.PostLogoutRedirectURIs))
		if err != nil {
			return q.fail("update client "+c.ID, err)
		}
		if err := affected("update client "+c.ID, res); err != nil {
			return err
		}
		return q.changed(ctx, x, c.Team, store.KindClient, c.ID)
	})
}

// DeleteClient deletes the client with its secrets, consents, codes and
// refresh tokens (by cascade) and its permissions.
func (q *queries) DeleteClient(ctx context.Context, team, id string) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, `DELETE FROM clients WHERE team = $1 AND id = $2`, team, id)
		if err != nil {
			return q.fail("delete client "+id, err)
		}
		if err := affected("delete client "+id, res); err != nil {
			return err
		}
		if _, err := x.ExecContext(ctx, `DELETE FROM permissions WHERE team = $1 AND principal = $2`, team, "client:"+id); err != nil {
			return q.fail("delete client "+id, err)
		}
		for _, c := range [][2]string{{store.KindClient, id}, {store.KindPermission, ""}, {store.KindConsent, ""}, {store.KindRefresh, ""}} {
			if err := q.changed(ctx, x, team, c[0], c[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *queries) AddClientSecret(ctx context.Context, team, clientID string, s store.ClientSecret, expireOthers *time.Time) (err error) {
	ctx, end := q.op(ctx)
	defer end(&err)
	return q.write(ctx, func(x execer) error {
		var exists int
		if err := x.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE team = $1 AND id = $2`, team, clientID).Scan(&exists); err != nil {
			return q.fail("add secret to client "+clientID, err)
		}
		var err error
		if expireOthers == nil {
			_, err = x.ExecContext(ctx, `DELETE FROM client_secrets WHERE team = $1 AND client_id = $2`, team, clientID)
		} else {
			_, err = x.ExecContext(ctx, `UPDATE client_secrets SET expires_at = $3
				WHERE team = $1 AND client_id = $2 AND expires_at IS NULL`, team, clientID, ts(*expireOthers))
		}
		if err != nil {
			return q.fail("add secret to client "+clientID, err)
		}
		if err := q.insertSecret(ctx, x, team, clientID, s); err != nil {
			return err
		}
		return q.changed(ctx, x, team, store.KindClient, clientID)
	})
}
