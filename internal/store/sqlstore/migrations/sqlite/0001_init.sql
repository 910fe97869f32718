-- Gatehouse schema, SQLite dialect. Times are Unix microseconds (UTC),
-- durations nanoseconds, lists space-separated (their items cannot hold
-- spaces: scope tokens, grant types, URIs).

CREATE TABLE teams (
    name                  TEXT PRIMARY KEY,
    created_at            INTEGER NOT NULL,
    access_token_ttl      INTEGER NOT NULL DEFAULT 0,
    scope_format          TEXT NOT NULL DEFAULT '',
    signing_alg           TEXT NOT NULL DEFAULT '',
    sk_deprecated_since   INTEGER,
    sk_sunset_at          INTEGER,
    sk_link               TEXT NOT NULL DEFAULT '',
    sk_refuse_new         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE users (
    team          TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    team_admin    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (team, id),
    UNIQUE (team, email)
) STRICT;

CREATE TABLE user_groups (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team, name)
) STRICT;

CREATE TABLE group_members (
    team       TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (team, group_name, user_id),
    FOREIGN KEY (team, group_name) REFERENCES user_groups(team, name) ON DELETE CASCADE,
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX group_members_user ON group_members(team, user_id);

CREATE TABLE apps (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team, name)
) STRICT;

CREATE TABLE clients (
    team             TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    grant_types      TEXT NOT NULL,
    auth_method      TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    redirect_uris    TEXT NOT NULL,
    access_token_ttl INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (team, id)
) STRICT;

CREATE TABLE client_secrets (
    team       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (team, client_id, id),
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE static_keys (
    team         TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'app')),
    owner        TEXT NOT NULL,
    hash         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    last_used_ip TEXT NOT NULL DEFAULT '',
    last_used_ua TEXT NOT NULL DEFAULT '',
    migrated_to  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team, id)
) STRICT;
CREATE INDEX static_keys_owner ON static_keys(team, kind, owner);

CREATE TABLE permissions (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    principal  TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team, principal, action, resource)
) STRICT;

CREATE TABLE consents (
    team         TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    PRIMARY KEY (team, user_id, client_id),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE auth_codes (
    team                  TEXT NOT NULL,
    hash                  BLOB NOT NULL,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    PRIMARY KEY (team, hash),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE refresh_tokens (
    team              TEXT NOT NULL,
    hash              BLOB NOT NULL,
    family_id         TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    family_expires_at INTEGER NOT NULL,
    used_at           INTEGER,
    revoked_at        INTEGER,
    PRIMARY KEY (team, hash),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens(team, family_id);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(team, user_id, client_id);

CREATE TABLE signing_keys (
    team           TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    alg            TEXT NOT NULL,
    public_jwk     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    activate_at    INTEGER NOT NULL,
    retired_at     INTEGER,
    delete_after   INTEGER,
    PRIMARY KEY (team, id)
) STRICT;

CREATE TABLE revoked_tokens (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (team, jti)
) STRICT;

-- Audit events of a team outlive nothing but the team; team '' holds
-- server-wide events (team creation and deletion).
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_team ON audit_events(team, at, id);

CREATE TABLE login_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    email      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    success    INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL
) STRICT;
CREATE INDEX login_events_team ON login_events(team, at, id);

-- The change log that carries cache invalidations between processes:
-- writers append in the same transaction, watchers poll it when
-- PRAGMA data_version moves. SQLite serializes writers, so seq is commit
-- order.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    team TEXT NOT NULL,
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
) STRICT;
