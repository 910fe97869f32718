-- Failure budgets (internal/ratelimit): failed sign-ins and client
-- authentications, counted for every node that shares the database, per
-- key in a window that opens with the key's first failure. team is '' for
-- a key of the whole server (an address), so it names no row of teams:
-- DeleteTeam deletes a team's counts itself, and the purge deletes every
-- count whose window has ended.
CREATE TABLE failure_counts (
    team       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (team, key)
) STRICT;
CREATE INDEX failure_counts_expires_at ON failure_counts (expires_at);
