-- Issue 11: the console's Users page takes the account's catalog (the names its pickers offer,
-- what each role grants and which roles each group carries: what D2's reach is decided from)
-- from memory with the users. Any change to it leaves a `user_changes` row for everyone
-- (`user_id` NULL), as a rename already did (0008), so that no page uses a catalog older than
-- the request.
CREATE TRIGGER roles_added AFTER INSERT ON roles BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER roles_removed AFTER DELETE ON roles BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER groups_added AFTER INSERT ON groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER groups_removed AFTER DELETE ON groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER desks_added AFTER INSERT ON desks BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER desks_removed AFTER DELETE ON desks BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER skills_added AFTER INSERT ON skills BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER skills_removed AFTER DELETE ON skills BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;

-- What a role grants and which roles a group carries. A row removed with its role or group finds
-- no account here; the role's or group's own trigger has written the row already.
CREATE TRIGGER role_permissions_added AFTER INSERT ON role_permissions BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM roles WHERE id = NEW.role_id;
END;
CREATE TRIGGER role_permissions_changed AFTER UPDATE ON role_permissions BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM roles WHERE id = NEW.role_id;
END;
CREATE TRIGGER role_permissions_removed AFTER DELETE ON role_permissions BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM roles WHERE id = OLD.role_id;
END;
CREATE TRIGGER group_roles_added AFTER INSERT ON group_roles BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM groups WHERE id = NEW.group_id;
END;
CREATE TRIGGER group_roles_changed AFTER UPDATE ON group_roles BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM groups WHERE id = NEW.group_id;
END;
CREATE TRIGGER group_roles_removed AFTER DELETE ON group_roles BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, NULL FROM groups WHERE id = OLD.group_id;
END;
