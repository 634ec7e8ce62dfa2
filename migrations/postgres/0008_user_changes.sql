-- Issue 11: the user list is answered from memory (`store::user_index`). Every committed change
-- that can alter what the list shows, or which users a filter matches, leaves a row here, written
-- by triggers so that no write path can forget it (services, bulk actions, imports, the CLI).
-- `user_id` NULL: something every user of the account shows changed (a role's name, the
-- account's settings). `at` (seconds) lets old rows be pruned.
--
-- Rows become visible at commit, not in `seq` order, so a reader cannot keep "the last seq it
-- saw". It keeps the snapshot of its last read (`xmax` and the transactions then running) and
-- next reads the rows of those transactions and of later ones (`xid`); see
-- `store::user_index::journal`. Needs PostgreSQL 13 or later (`pg_current_xact_id`).
CREATE TABLE user_changes (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    user_id    BIGINT,
    xid        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    at         BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint)
);
CREATE INDEX user_changes_account ON user_changes (account_id, xid);

-- Pruning deletes old rows; it records here below which `seq` (SQLite) or transaction id
-- (PostgreSQL) rows may be gone, so that an instance that had not read them yet reads its
-- accounts whole rather than miss them.
CREATE TABLE user_changes_pruned (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO user_changes_pruned (id, below) VALUES (1, 0);

-- Statement triggers over transition tables: a bulk action on 100,000 users writes its rows
-- with one INSERT … SELECT, not 100,000 trigger calls.
CREATE FUNCTION users_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM changed;
    RETURN NULL;
END $$;

CREATE FUNCTION users_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM gone;
    RETURN NULL;
END $$;

-- A user's links. When the user itself is being deleted the users trigger names them already
-- (and the user is gone, so nothing is written here).
CREATE FUNCTION user_links_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT u.account_id, u.id FROM users u WHERE u.id IN (SELECT user_id FROM changed);
    RETURN NULL;
END $$;

CREATE FUNCTION user_links_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT u.account_id, u.id FROM users u WHERE u.id IN (SELECT user_id FROM gone);
    RETURN NULL;
END $$;

-- What every user of the account shows: the names and descriptions of roles, groups, desks and
-- skills, and the account's settings (a password's expiry date follows them).
CREATE FUNCTION users_shown_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT DISTINCT account_id, NULL::bigint FROM changed;
    RETURN NULL;
END $$;

CREATE FUNCTION account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT id, NULL::bigint FROM changed;
    RETURN NULL;
END $$;

CREATE TRIGGER users_inserted AFTER INSERT ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_changed_new();
CREATE TRIGGER users_updated AFTER UPDATE ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_changed_new();
CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION users_changed_old();
CREATE TRIGGER user_roles_inserted AFTER INSERT ON user_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_roles_updated AFTER UPDATE ON user_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_roles_deleted AFTER DELETE ON user_roles
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();
CREATE TRIGGER group_members_inserted AFTER INSERT ON group_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER group_members_updated AFTER UPDATE ON group_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER group_members_deleted AFTER DELETE ON group_members
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();
CREATE TRIGGER user_desks_inserted AFTER INSERT ON user_desks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_desks_updated AFTER UPDATE ON user_desks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_desks_deleted AFTER DELETE ON user_desks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();
CREATE TRIGGER user_skills_inserted AFTER INSERT ON user_skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_skills_updated AFTER UPDATE ON user_skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_skills_deleted AFTER DELETE ON user_skills
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();
CREATE TRIGGER user_permissions_inserted AFTER INSERT ON user_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_permissions_updated AFTER UPDATE ON user_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_permissions_deleted AFTER DELETE ON user_permissions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();
CREATE TRIGGER roles_changed AFTER UPDATE ON roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER groups_changed AFTER UPDATE ON groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER desks_changed AFTER UPDATE ON desks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER skills_changed AFTER UPDATE ON skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER accounts_changed AFTER UPDATE ON accounts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION account_changed();
