-- Issue 13: queue member lists are answered from memory (`queues::member_lists`), kept until the
-- user list's changes say otherwise. A list shows its queue's name and number and its members'
-- time groups, so a change to either leaves a `user_changes` row for the account (migration
-- 0012 left out the number, which users do not show; a time group not in use shows nowhere).
-- Keep in step with ../postgres/0014_kept_telephony.sql.
DROP TRIGGER queues_changed;
CREATE TRIGGER queues_changed AFTER UPDATE OF name, description, extension ON queues
    WHEN OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
      OR OLD.extension IS NOT NEW.extension BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;
CREATE TRIGGER time_groups_changed AFTER UPDATE ON time_groups
    WHEN EXISTS (SELECT 1 FROM queue_members WHERE time_group_id = NEW.id) BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NULL);
END;

-- Users' call settings are answered from memory too (`calls::kept`): a user's own values and
-- intercept groups leave a row for them; the account's defaults, its intercept groups and a
-- rule set, music class or intercept group renamed or removed, one for everyone.
CREATE TRIGGER user_call_settings_changed_insert AFTER INSERT ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_call_settings_changed_update AFTER UPDATE ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER user_call_settings_changed_delete AFTER DELETE ON user_call_settings BEGIN
    INSERT INTO user_changes (account_id, user_id) SELECT account_id, id FROM users WHERE id = OLD.user_id;
END;
-- `user_id` NULL: the account's defaults, for everyone.
CREATE TRIGGER intercept_links_changed_insert AFTER INSERT ON intercept_links BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NEW.user_id);
END;
CREATE TRIGGER intercept_links_changed_update AFTER UPDATE ON intercept_links BEGIN
    INSERT INTO user_changes (account_id, user_id) VALUES (NEW.account_id, NEW.user_id);
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
