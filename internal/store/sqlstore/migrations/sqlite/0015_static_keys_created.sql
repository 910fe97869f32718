-- The static keys are listed in the order they were made (FindKeys: by
-- creation time, then id), a team's keys and one owner's alike, each a
-- range of one of these indexes; the owner's index in id order goes.
CREATE INDEX static_keys_created ON static_keys (team, created_at, id);
CREATE INDEX static_keys_owner_created ON static_keys (team, kind, owner, created_at, id);
DROP INDEX static_keys_owner_id;
