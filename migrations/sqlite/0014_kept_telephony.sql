-- Issue 13: queue member lists are answered from memory (`queues::member_lists`), kept until the
-- user list's changes say otherwise. A list shows its queue's name and number and its members'
-- time groups, so a change to either leaves a `user_changes` row for the account (migration
-- 0012 left out the number, which users do not show).
-- Keep in step with ../postgres/0014_kept_telephony.sql.
DROP TRIGGER queues_changed;
CREATE TRIGGER queues_changed AFTER UPDATE OF name, description, extension ON queues
    WHEN OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
      OR OLD.extension IS NOT NEW.extension BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
-- Every change to a time group, in use or not: "not in use" read in one transaction may no
-- longer hold when another that starts using it commits.
CREATE TRIGGER time_groups_changed AFTER UPDATE ON time_groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;

-- A row moved from one user to another changes both: update triggers name the old user too.
DROP TRIGGER queue_members_changed_update;
CREATE TRIGGER queue_members_changed_update AFTER UPDATE ON queue_members BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;

-- A queue's member list (its ETag, `members_version`) moves with every membership written,
-- whoever writes it: also when a user's deletion takes their memberships with it.
CREATE TRIGGER queue_members_version_insert AFTER INSERT ON queue_members BEGIN
    UPDATE queues SET members_version = members_version + 1 WHERE id = NEW.queue_id;
END;
CREATE TRIGGER queue_members_version_update AFTER UPDATE ON queue_members BEGIN
    UPDATE queues SET members_version = members_version + 1 WHERE id IN (OLD.queue_id, NEW.queue_id);
END;
CREATE TRIGGER queue_members_version_delete AFTER DELETE ON queue_members BEGIN
    UPDATE queues SET members_version = members_version + 1 WHERE id = OLD.queue_id;
END;

-- Users' call settings are answered from memory too (`calls::kept`): a user's own values and
-- intercept groups leave a row for them; the account's defaults, its intercept groups and a
-- rule set, music class or intercept group renamed or removed, one for everyone.
CREATE TRIGGER user_call_settings_changed_insert AFTER INSERT ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_call_settings_changed_update AFTER UPDATE ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER user_call_settings_changed_delete AFTER DELETE ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
-- `user_id` NULL: the account's defaults, for everyone.
CREATE TRIGGER intercept_links_changed_insert AFTER INSERT ON intercept_links BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NEW.user_id);
END;
CREATE TRIGGER intercept_links_changed_update AFTER UPDATE ON intercept_links BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, OLD.user_id), (NEW.account_id, NEW.user_id);
END;
CREATE TRIGGER intercept_links_changed_delete AFTER DELETE ON intercept_links BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, OLD.user_id);
END;
CREATE TRIGGER account_call_settings_changed_insert AFTER INSERT ON account_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER account_call_settings_changed_update AFTER UPDATE ON account_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER account_call_settings_changed_delete AFTER DELETE ON account_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER dial_rule_sets_changed AFTER UPDATE ON dial_rule_sets BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER dial_rule_sets_removed AFTER DELETE ON dial_rule_sets BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER music_on_hold_changed AFTER UPDATE ON music_on_hold BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER music_on_hold_removed AFTER DELETE ON music_on_hold BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
CREATE TRIGGER intercept_groups_changed AFTER UPDATE ON intercept_groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER intercept_groups_removed AFTER DELETE ON intercept_groups BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (OLD.account_id, NULL);
END;
