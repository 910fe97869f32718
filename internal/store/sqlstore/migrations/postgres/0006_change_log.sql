-- The change log. Every write records what it touched here, in its own
-- transaction, besides announcing it with NOTIFY: a node whose LISTEN
-- connection was away reads what it missed from here once it is back.
-- Transactions commit out of sequence order, so a reader's position is a
-- transaction ID horizon, and each record keeps the ID of the transaction
-- that wrote it (see internal/store/sqlstore/listen.go). Written to apply
-- cleanly over a database that already has it.
CREATE TABLE IF NOT EXISTS changes (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid  xid8   NOT NULL DEFAULT pg_current_xact_id(),
    team TEXT   NOT NULL,
    kind TEXT   NOT NULL,
    key  TEXT   NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_xid ON changes (xid);
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);

-- The highest transaction ID whose changes the purge has deleted: a reader
-- whose position is not past it may have missed some.
CREATE TABLE IF NOT EXISTS changes_purged (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    xid      xid8    NOT NULL
);
INSERT INTO changes_purged (xid) VALUES ('0') ON CONFLICT DO NOTHING;
