-- How many users and groups each team has, kept by triggers in the
-- transaction that adds or removes one: the totalResults of an unfiltered
-- SCIM list is one row, not a count of every index entry of the team. A
-- team's row appears with its first user or group and goes with the team.
CREATE TABLE directory_counts (
    team   TEXT PRIMARY KEY REFERENCES teams(name) ON DELETE CASCADE,
    user_count  BIGINT NOT NULL DEFAULT 0,
    group_count BIGINT NOT NULL DEFAULT 0
);
INSERT INTO directory_counts (team, user_count, group_count)
SELECT t.name,
       (SELECT count(*) FROM users u WHERE u.team = t.name),
       (SELECT count(*) FROM user_groups g WHERE g.team = t.name)
FROM teams t;

CREATE FUNCTION directory_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF TG_TABLE_NAME = 'users' THEN
            INSERT INTO directory_counts AS d (team, user_count) VALUES (NEW.team, 1)
            ON CONFLICT (team) DO UPDATE SET user_count = d.user_count + 1;
        ELSE
            INSERT INTO directory_counts AS d (team, group_count) VALUES (NEW.team, 1)
            ON CONFLICT (team) DO UPDATE SET group_count = d.group_count + 1;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'users' THEN
        UPDATE directory_counts SET user_count = user_count - 1 WHERE team = OLD.team;
    ELSE
        UPDATE directory_counts SET group_count = group_count - 1 WHERE team = OLD.team;
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION directory_count();
CREATE TRIGGER user_groups_count AFTER INSERT OR DELETE ON user_groups
    FOR EACH ROW EXECUTE FUNCTION directory_count();

-- The folded-email index of 0010, which no query uses: emails are stored
-- folded, and the unique index of (team, email) serves them.
DROP INDEX users_email_folded;
