-- Issue 13: call settings (R38, seed 003's "overrides"). Keep in step with
-- ../postgres/0013_call_settings.sql.
--
-- Three catalogs of the account: dial rule sets (ordered allow/deny destination patterns, JSON
-- `[{"pattern": "_00X.", "action": "deny"}, …]`), music-on-hold classes and intercept (call
-- pickup) groups.
CREATE TABLE dial_rule_sets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    rules       TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX dial_rule_sets_name_key_unique ON dial_rule_sets (account_id, name_key);

CREATE TABLE music_on_hold (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    rules       TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX music_on_hold_name_key_unique ON music_on_hold (account_id, name_key);

CREATE TABLE intercept_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    rules       TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX intercept_groups_name_key_unique ON intercept_groups (account_id, name_key);

-- The account's defaults; no row: the built-in defaults (the columns' defaults).
CREATE TABLE account_call_settings (
    account_id        BIGINT  NOT NULL PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    dial_rules_id     BIGINT  REFERENCES dial_rule_sets(id) ON DELETE RESTRICT,
    max_calls         BIGINT  NOT NULL DEFAULT 2,
    music_on_hold_id  BIGINT  REFERENCES music_on_hold(id) ON DELETE RESTRICT,
    call_waiting      INTEGER NOT NULL DEFAULT 1,
    record_calls      INTEGER NOT NULL DEFAULT 0,
    mask_number       TEXT    NOT NULL DEFAULT 'none',
    caller_id         TEXT,
    no_answer_timeout BIGINT  NOT NULL DEFAULT 30,
    blf               TEXT    NOT NULL DEFAULT '[]',
    version           BIGINT  NOT NULL DEFAULT 1
);

-- A user's own values; NULL (or no row): the account's default. `intercept_own`: the user's
-- intercept groups are their own (`intercept_links` rows with their id), not the account's.
CREATE TABLE user_call_settings (
    user_id           BIGINT  NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    dial_rules_id     BIGINT  REFERENCES dial_rule_sets(id) ON DELETE RESTRICT,
    max_calls         BIGINT,
    music_on_hold_id  BIGINT  REFERENCES music_on_hold(id) ON DELETE RESTRICT,
    call_waiting      INTEGER,
    record_calls      INTEGER,
    mask_number       TEXT,
    caller_id         TEXT,
    no_answer_timeout BIGINT,
    blf               TEXT,
    intercept_own     INTEGER NOT NULL DEFAULT 0,
    version           BIGINT  NOT NULL DEFAULT 1
);
CREATE INDEX user_call_settings_dial_rules ON user_call_settings (dial_rules_id);
CREATE INDEX user_call_settings_music ON user_call_settings (music_on_hold_id);

-- Intercept groups: `member`: the user's ringing calls may be picked up by the group's pickers;
-- `pickup`: the user may pick up calls ringing for the group's members. `user_id` NULL: the
-- account's default.
CREATE TABLE intercept_links (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users(id) ON DELETE CASCADE,
    group_id   BIGINT NOT NULL REFERENCES intercept_groups(id) ON DELETE CASCADE,
    mode       TEXT   NOT NULL
);
CREATE UNIQUE INDEX intercept_links_unique ON intercept_links (account_id, COALESCE(user_id, 0), group_id, mode);
CREATE INDEX intercept_links_user ON intercept_links (user_id);
CREATE INDEX intercept_links_group ON intercept_links (group_id);
