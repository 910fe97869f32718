-- The admin API's listings (store.Find*): a search for the start of a name
-- (or of a user's email), ASCII letters folded, is a range of one of these
-- indexes, in byte order whatever the database's collation; they also keep
-- names in the listings' order. Keys are found by owner and by last use.
CREATE INDEX users_email_folded ON users (team, (lower(email) COLLATE "C"));
CREATE INDEX users_name_folded ON users (team, (lower(name) COLLATE "C"));
CREATE INDEX user_groups_name_folded ON user_groups (team, (lower(name) COLLATE "C"), name);
CREATE INDEX apps_name_folded ON apps (team, (lower(name) COLLATE "C"), name);
CREATE INDEX clients_name_folded ON clients (team, (lower(name) COLLATE "C"), name);
CREATE INDEX static_keys_owner_id ON static_keys (team, kind, owner, id);
CREATE INDEX static_keys_last_used ON static_keys (team, last_used_at);
