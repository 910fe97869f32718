-- SCIM 2.0 provisioning (internal/scim): what an identity provider keeps of
-- a user (its external ID, the parts of the name, the addresses as a JSON
-- array) and the time of the last change; a group gets an ID that outlives
-- renames, an external ID and the time of its last change. The indexes
-- serve the filters and sorts that providers send (userName is the email,
-- whose unique index serves it; displayName the folded-name indexes of
-- 0010).
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN emails TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET updated_at = created_at;
CREATE INDEX users_external_id ON users (team, external_id, id);
CREATE INDEX users_created ON users (team, created_at, id);
CREATE INDEX users_updated ON users (team, updated_at, id);
-- The folded names of 0010, with the id that breaks ties: a page sorted by
-- displayName is a range of it.
DROP INDEX users_name_folded;
CREATE INDEX users_name_folded ON users (team, lower(name), id);
-- A user's groups: the memberships' index by user, covering, so that
-- the planner prefers it to the primary key, which would read every
-- membership of the team.
DROP INDEX group_members_user;
CREATE INDEX group_members_user ON group_members (team, user_id, group_name);

ALTER TABLE user_groups ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE user_groups ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE user_groups ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
-- A random (version 4) UUID for every group made before.
UPDATE user_groups SET updated_at = created_at,
    id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
        substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX user_groups_id ON user_groups (team, id);
CREATE INDEX user_groups_external_id ON user_groups (team, external_id, id);
CREATE INDEX user_groups_created ON user_groups (team, created_at, id);
CREATE INDEX user_groups_updated ON user_groups (team, updated_at, id);
