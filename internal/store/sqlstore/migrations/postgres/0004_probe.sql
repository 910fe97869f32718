-- The readiness write probe: one row that every node rewrites every few
-- seconds (store.Store's Probe), so that /readyz reports whether the
-- database accepts writes, not only whether it answers.
CREATE TABLE probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);
