-- The purge deletes change records by age: index them by it. (PostgreSQL's
-- change log is made in this version; SQLite has had one from the start.)
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);
