-- Web sessions live on the server (internal/session): the session cookie
-- carries a random ID, and only its keyed hash is stored, so that a copy of
-- the database signs no one in. Ending a session deletes its row, which
-- every node sees at its next request. Deleting a user deletes their
-- sessions; the purge deletes expired ones (expires_at).
CREATE TABLE sessions (
    team         TEXT NOT NULL,
    hash         BYTEA NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    PRIMARY KEY (team, hash),
    FOREIGN KEY (team, user_id) REFERENCES users(team, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (team, user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
