-- The histories' filters (the team APIs' and the web console's): a page of
-- one actor's, action's or target's audit events, or of one email's login
-- attempts, newest first, is a range of one of these indexes, however many
-- other events the team has.
CREATE INDEX audit_events_actor ON audit_events (team, actor, at, id);
CREATE INDEX audit_events_action ON audit_events (team, action, at, id);
CREATE INDEX audit_events_target ON audit_events (team, target, at, id);
CREATE INDEX login_events_email ON login_events (team, email, at, id);
