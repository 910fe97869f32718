-- How many users and groups each team has, kept by triggers in the
-- transaction that adds or removes one: the totalResults of an unfiltered
-- SCIM list is one row, not a count of every index entry of the team. A
-- team's row appears with its first user or group and goes with the team.
CREATE TABLE directory_counts (
    team   TEXT PRIMARY KEY REFERENCES teams(name) ON DELETE CASCADE,
    user_count  INTEGER NOT NULL DEFAULT 0,
    group_count INTEGER NOT NULL DEFAULT 0
);
INSERT INTO directory_counts (team, user_count, group_count)
SELECT t.name,
       (SELECT count(*) FROM users u WHERE u.team = t.name),
       (SELECT count(*) FROM user_groups g WHERE g.team = t.name)
FROM teams t;

CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
    INSERT INTO directory_counts (team, user_count) VALUES (NEW.team, 1)
    ON CONFLICT (team) DO UPDATE SET user_count = user_count + 1;
END;
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
    UPDATE directory_counts SET user_count = user_count - 1 WHERE team = OLD.team;
END;
CREATE TRIGGER user_groups_count_insert AFTER INSERT ON user_groups BEGIN
    INSERT INTO directory_counts (team, group_count) VALUES (NEW.team, 1)
    ON CONFLICT (team) DO UPDATE SET group_count = group_count + 1;
END;
CREATE TRIGGER user_groups_count_delete AFTER DELETE ON user_groups BEGIN
    UPDATE directory_counts SET group_count = group_count - 1 WHERE team = OLD.team;
END;

-- The folded-email index of 0010, which no query uses: emails are stored
-- folded, and the unique index of (team, email) is in byte order.
DROP INDEX users_email_folded;
