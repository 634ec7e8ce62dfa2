-- Issue 13: queue member lists are answered from memory (`queues::member_lists`), kept until the
-- user list's changes say otherwise. A list shows its queue's name and number and its members'
-- time groups, so a change to either leaves a `user_changes` row for the account (migration
-- 0012 left out the number, which users do not show).
-- Keep in step with ../sqlite/0014_kept_telephony.sql.
DROP TRIGGER queues_changed ON queues;
CREATE TRIGGER queues_changed AFTER UPDATE OF name, description, extension ON queues
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.description IS DISTINCT FROM NEW.description
        OR OLD.extension IS DISTINCT FROM NEW.extension)
    EXECUTE FUNCTION queue_renamed();

-- Every change to a time group, in use or not: "not in use" as one transaction sees it may no
-- longer hold when another that starts using it commits (they do not block each other).
CREATE TRIGGER time_groups_changed AFTER UPDATE ON time_groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();

-- A row moved from one user to another changes both: update triggers name the old user too.
CREATE FUNCTION user_rows_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT u.account_id, u.id FROM users u
        WHERE u.id IN (SELECT user_id FROM changed UNION SELECT user_id FROM gone);
    RETURN NULL;
END $$;
DROP TRIGGER queue_members_updated ON queue_members;
CREATE TRIGGER queue_members_updated AFTER UPDATE ON queue_members
    REFERENCING OLD TABLE AS gone NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_rows_moved();

-- A queue's member list (its ETag, `members_version`) moves with every membership written,
-- whoever writes it: also when a user's deletion takes their memberships with it.
CREATE FUNCTION queue_members_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE queues SET members_version = members_version + 1 WHERE id IN (SELECT queue_id FROM changed);
    RETURN NULL;
END $$;
CREATE FUNCTION queue_members_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE queues SET members_version = members_version + 1
        WHERE id IN (SELECT queue_id FROM changed UNION SELECT queue_id FROM gone);
    RETURN NULL;
END $$;
CREATE FUNCTION queue_members_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE queues SET members_version = members_version + 1 WHERE id IN (SELECT queue_id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER queue_members_version_inserted AFTER INSERT ON queue_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION queue_members_added();
CREATE TRIGGER queue_members_version_updated AFTER UPDATE ON queue_members
    REFERENCING OLD TABLE AS gone NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION queue_members_moved();
CREATE TRIGGER queue_members_version_deleted AFTER DELETE ON queue_members
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION queue_members_removed();

-- Users' call settings are answered from memory too (`calls::kept`): a user's own values and
-- intercept groups leave a row for them; the account's defaults, its intercept groups and a
-- rule set, music class or intercept group renamed or removed, one for everyone. Statement
-- triggers over transition tables, as in migration 0008 (a mass action writes many rows).
CREATE TRIGGER user_call_settings_inserted AFTER INSERT ON user_call_settings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_new();
CREATE TRIGGER user_call_settings_updated AFTER UPDATE ON user_call_settings
    REFERENCING OLD TABLE AS gone NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION user_rows_moved();
CREATE TRIGGER user_call_settings_deleted AFTER DELETE ON user_call_settings
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION user_links_changed_old();

-- `user_id` NULL: the account's defaults, for everyone.
CREATE FUNCTION intercept_links_changed_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT DISTINCT account_id, user_id FROM changed;
    RETURN NULL;
END $$;
CREATE FUNCTION intercept_links_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id)
        SELECT account_id, user_id FROM changed UNION SELECT account_id, user_id FROM gone;
    RETURN NULL;
END $$;
CREATE FUNCTION intercept_links_changed_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT DISTINCT account_id, user_id FROM gone;
    RETURN NULL;
END $$;
CREATE TRIGGER intercept_links_inserted AFTER INSERT ON intercept_links
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION intercept_links_changed_new();
CREATE TRIGGER intercept_links_updated AFTER UPDATE ON intercept_links
    REFERENCING OLD TABLE AS gone NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION intercept_links_moved();
CREATE TRIGGER intercept_links_deleted AFTER DELETE ON intercept_links
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION intercept_links_changed_old();

CREATE TRIGGER account_call_settings_inserted AFTER INSERT ON account_call_settings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER account_call_settings_updated AFTER UPDATE ON account_call_settings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER account_call_settings_deleted AFTER DELETE ON account_call_settings
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER dial_rule_sets_changed AFTER UPDATE ON dial_rule_sets
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER dial_rule_sets_removed AFTER DELETE ON dial_rule_sets
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER music_on_hold_changed AFTER UPDATE ON music_on_hold
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER music_on_hold_removed AFTER DELETE ON music_on_hold
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
CREATE TRIGGER intercept_groups_changed AFTER UPDATE ON intercept_groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_shown_changed();
CREATE TRIGGER intercept_groups_removed AFTER DELETE ON intercept_groups
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION catalog_removed();
