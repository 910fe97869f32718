-- Hot-path audit events carry an id of their own (internal/auditlog: the
-- event's place in the node's spool), so that an event shipped twice, when
-- a node died between the database's commit and its spool's checkpoint, is
-- stored once: AppendAudit inserts with ON CONFLICT DO NOTHING. Events
-- written with their change in one transaction have none (NULL), and the
-- index leaves them out.
ALTER TABLE audit_events ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX audit_events_event_id ON audit_events (team, event_id) WHERE event_id IS NOT NULL;
