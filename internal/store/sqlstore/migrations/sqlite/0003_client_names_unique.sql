-- A client's name is unique in its team, as applications' and groups' are.
-- A database made before this may hold clients of one team with the same
-- name: every one of them but the oldest is renamed "<name> (<client_id>)"
-- first, so that the index can be built and nothing is dropped; the
-- client_id and everything else of the client stay as they were.
UPDATE clients SET name = name || ' (' || id || ')'
WHERE EXISTS (
    SELECT 1 FROM clients older
    WHERE older.team = clients.team AND older.name = clients.name
      AND (older.created_at < clients.created_at
           OR (older.created_at = clients.created_at AND older.id < clients.id)));

CREATE UNIQUE INDEX clients_team_name ON clients (team, name);
