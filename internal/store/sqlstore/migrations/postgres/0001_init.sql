-- Gatehouse schema, PostgreSQL dialect. Times are Unix microseconds (UTC),
-- durations nanoseconds, lists space-separated (their items cannot hold
-- spaces: scope tokens, grant types, URIs).

CREATE TABLE teams (
    name                  TEXT PRIMARY KEY,
    created_at            BIGINT NOT NULL,
    access_token_ttl      BIGINT NOT NULL DEFAULT 0,
    scope_format          TEXT NOT NULL DEFAULT '',
    signing_alg           TEXT NOT NULL DEFAULT '',
    sk_deprecated_since   BIGINT,
    sk_sunset_at          BIGINT,
    sk_link               TEXT NOT NULL DEFAULT '',
    sk_refuse_new         BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE users (
    team          TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    team_admin    BOOLEAN NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (team, id),
    UNIQUE (team, email)
);

CREATE TABLE user_groups (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team, name)
);

CREATE TABLE group_members (
    team       TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (team, group_name, user_id),
    FOREIGN KEY (team, group_name) REFERENCES user_groups(team, name) ON DELETE CASCADE,
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members(team, user_id);

CREATE TABLE apps (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team, name)
);

CREATE TABLE clients (
    team             TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    grant_types      TEXT NOT NULL,
    auth_method      TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    redirect_uris    TEXT NOT NULL,
    access_token_ttl BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (team, id)
);

CREATE TABLE client_secrets (
    team       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (team, client_id, id),
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
);

CREATE TABLE static_keys (
    team         TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'app')),
    owner        TEXT NOT NULL,
    hash         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT NOT NULL DEFAULT '',
    last_used_ua TEXT NOT NULL DEFAULT '',
    migrated_to  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team, id)
);
CREATE INDEX static_keys_owner ON static_keys(team, kind, owner);

CREATE TABLE permissions (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    principal  TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team, principal, action, resource)
);

CREATE TABLE consents (
    team         TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (team, user_id, client_id),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
);

CREATE TABLE auth_codes (
    team                  TEXT NOT NULL,
    hash                  BYTEA NOT NULL,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT,
    PRIMARY KEY (team, hash),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
);

CREATE TABLE refresh_tokens (
    team              TEXT NOT NULL,
    hash              BYTEA NOT NULL,
    family_id         TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL,
    used_at           BIGINT,
    revoked_at        BIGINT,
    PRIMARY KEY (team, hash),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE,
    FOREIGN KEY (team, client_id) REFERENCES clients(team, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(team, family_id);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(team, user_id, client_id);

CREATE TABLE signing_keys (
    team           TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    alg            TEXT NOT NULL,
    public_jwk     BYTEA NOT NULL,
    private_sealed BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    activate_at    BIGINT NOT NULL,
    retired_at     BIGINT,
    delete_after   BIGINT,
    PRIMARY KEY (team, id)
);

CREATE TABLE revoked_tokens (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (team, jti)
);

-- Audit events of a team outlive nothing but the team; team '' holds
-- server-wide events (team creation and deletion).
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_events_team ON audit_events(team, at, id);

CREATE TABLE login_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    email      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    success    BOOLEAN NOT NULL,
    reason     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX login_events_team ON login_events(team, at, id);
