-- Issue 13: call queues (R16). Keep in step with ../postgres/0012_queues.sql.
--
-- A time group is a named weekly schedule in a time zone: per weekday a list of ranges
-- (`days`, JSON: {"monday": [{"from": "09:00", "to": "17:00"}], …}; a range whose end is not
-- after its start runs past midnight into the next day) and dates on which it is closed all day
-- (`holidays`, JSON: ["2026-12-25", …]). Queue memberships use one to say when an agent is a
-- member; anything later that needs "when" can too.
CREATE TABLE time_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    time_zone   TEXT    NOT NULL,
    days        TEXT    NOT NULL,
    holidays    TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX time_groups_name_key_unique ON time_groups (account_id, name_key);

-- A queue's number is dialled like an extension: unique among the account's queues, and
-- checked against its users' extensions by the services (a number is a user's or a queue's).
CREATE TABLE queues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    extension   TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1,
    -- Moves with every change to the queue's members: the ETag of its member list.
    members_version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX queues_name_key_unique ON queues (account_id, name_key);
CREATE UNIQUE INDEX queues_extension_unique ON queues (account_id, extension);

-- An agent's membership of a queue: how they join it (`automatic`: logged in whenever they are
-- available; `manual`: they join and leave themself), their position (a priority, 1 first;
-- several members may share one) and, optionally, the time group during which they are a member.
-- A time group in use is not deleted (RESTRICT): the service names the queues first.
CREATE TABLE queue_members (
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    queue_id      BIGINT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    join_mode     TEXT   NOT NULL DEFAULT 'automatic',
    position      BIGINT NOT NULL DEFAULT 1,
    time_group_id BIGINT REFERENCES time_groups(id) ON DELETE RESTRICT,
    created_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, queue_id)
);
CREATE INDEX queue_members_queue ON queue_members (queue_id, position, user_id);
CREATE INDEX queue_members_time_group ON queue_members (time_group_id);

-- The user list filters by queue (`store::user_index`): memberships and queues leave
-- `user_changes` rows as the other links and catalogs do (migrations 0008, 0009).
CREATE TRIGGER queue_members_changed_insert AFTER INSERT ON queue_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER queue_members_changed_update AFTER UPDATE ON queue_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER queue_members_changed_delete AFTER DELETE ON queue_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER queues_added AFTER INSERT ON queues BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
-- Users show their queues' names (and the console's pickers their descriptions): a change of the
-- members' version or of a number is not theirs.
CREATE TRIGGER queues_changed AFTER UPDATE OF name, description ON queues
    WHEN OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER queues_removed AFTER DELETE ON queues BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
