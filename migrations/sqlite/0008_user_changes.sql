-- Issue 11: the user list is answered from memory (`store::user_index`). Every committed change
-- that can alter what the list shows, or which users a filter matches, leaves a row here, written
-- by triggers so that no write path can forget it (services, bulk actions, imports, the CLI).
-- An instance keeps the last `seq` it applied per account and re-reads only the users named
-- after it. `user_id` NULL: something every user of the account shows changed (a role's name,
-- the account's settings). `at` (seconds) lets old rows be pruned.
-- `seq` is the rowid: one more than the largest, and never reused because pruning always keeps
-- the last row (AUTOINCREMENT would cost a write of its own for every row).
CREATE TABLE user_changes (
    seq        INTEGER PRIMARY KEY,
    account_id BIGINT  NOT NULL,
    user_id    BIGINT,
    at         BIGINT  NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX user_changes_account ON user_changes (account_id, seq);

-- Pruning deletes old rows; it records here below which `seq` (SQLite) or transaction id
-- (PostgreSQL) rows may be gone, so that an instance that had not read them yet reads its
-- accounts whole rather than miss them.
CREATE TABLE user_changes_pruned (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO user_changes_pruned (id, below) VALUES (1, 0);

CREATE TRIGGER users_changed_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NEW.id);
END;
CREATE TRIGGER users_changed_update AFTER UPDATE ON users BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NEW.id);
END;
CREATE TRIGGER users_changed_delete AFTER DELETE ON users BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, OLD.id);
END;

-- A user's links. When the user itself is being deleted the users trigger names them already
-- (and the row may be gone, so nothing is written here).
CREATE TRIGGER user_roles_changed_insert AFTER INSERT ON user_roles BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_roles_changed_delete AFTER DELETE ON user_roles BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER group_members_changed_insert AFTER INSERT ON group_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER group_members_changed_delete AFTER DELETE ON group_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER user_desks_changed_insert AFTER INSERT ON user_desks BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_desks_changed_delete AFTER DELETE ON user_desks BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER user_skills_changed_insert AFTER INSERT ON user_skills BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_skills_changed_delete AFTER DELETE ON user_skills BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER user_permissions_changed_insert AFTER INSERT ON user_permissions BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_permissions_changed_delete AFTER DELETE ON user_permissions BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;

-- What every user of the account shows: the names and descriptions of roles, groups, desks and
-- skills, and the account's settings (a password's expiry date follows them).
CREATE TRIGGER roles_changed AFTER UPDATE ON roles BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER groups_changed AFTER UPDATE ON groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER desks_changed AFTER UPDATE ON desks BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER skills_changed AFTER UPDATE ON skills BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER accounts_changed AFTER UPDATE ON accounts BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.id, NULL);
END;
