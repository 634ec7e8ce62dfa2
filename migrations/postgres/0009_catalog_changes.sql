-- Issue 11: the console's Users page takes the account's catalog (the names its pickers offer,
-- what each role grants and which roles each group carries: what D2's reach is decided from)
-- from memory with the users. Any change to it leaves a `user_changes` row for everyone
-- (`user_id` NULL), as a rename already did (0008), so that no page uses a catalog older than
-- the request.

CREATE FUNCTION catalog_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT DISTINCT account_id, NULL::bigint FROM changed;
    RETURN NULL;
END $$;

CREATE FUNCTION catalog_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT DISTINCT account_id, NULL::bigint FROM gone;
    RETURN NULL;
END $$;

-- A row removed with its role or group finds no account here; the role's or group's own trigger
-- has written the row already.
CREATE FUNCTION role_grants_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT DISTINCT r.account_id, NULL::bigint FROM roles r WHERE r.id IN (SELECT role_id FROM changed);
    RETURN NULL;
END $$;

CREATE FUNCTION role_grants_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT DISTINCT r.account_id, NULL::bigint FROM roles r WHERE r.id IN (SELECT role_id FROM gone);
    RETURN NULL;
END $$;

CREATE FUNCTION group_roles_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT DISTINCT g.account_id, NULL::bigint FROM groups g WHERE g.id IN (SELECT group_id FROM changed);
    RETURN NULL;
END $$;

CREATE FUNCTION group_roles_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT DISTINCT g.account_id, NULL::bigint FROM groups g WHERE g.id IN (SELECT group_id FROM gone);
    RETURN NULL;
END $$;

CREATE TRIGGER roles_added AFTER INSERT ON roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION catalog_added();
CREATE TRIGGER roles_removed AFTER DELETE ON roles
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER groups_added AFTER INSERT ON groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION catalog_added();
CREATE TRIGGER groups_removed AFTER DELETE ON groups
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER desks_added AFTER INSERT ON desks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION catalog_added();
CREATE TRIGGER desks_removed AFTER DELETE ON desks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER skills_added AFTER INSERT ON skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION catalog_added();
CREATE TRIGGER skills_removed AFTER DELETE ON skills
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER role_permissions_added AFTER INSERT ON role_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION role_grants_changed_new();
CREATE TRIGGER role_permissions_changed AFTER UPDATE ON role_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION role_grants_changed_new();
CREATE TRIGGER role_permissions_removed AFTER DELETE ON role_permissions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION role_grants_changed_old();
CREATE TRIGGER group_roles_added AFTER INSERT ON group_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION group_roles_changed_new();
CREATE TRIGGER group_roles_changed AFTER UPDATE ON group_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION group_roles_changed_new();
CREATE TRIGGER group_roles_removed AFTER DELETE ON group_roles
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION group_roles_changed_old();
