-- Grant cut-offs: every access token a user delegated to a client that was
-- issued at or before revoked_at is refused (consent revoked, authorization
-- code or refresh token replayed). A row is kept until expires_at, when
-- every such token has expired.
CREATE TABLE grant_revocations (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (team, user_id, client_id)
) STRICT;
