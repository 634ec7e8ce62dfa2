-- Issue 14: the PBX directory. Keep in step with ../postgres/0015_directory.sql.

-- Each account's SIP realm (its digest realm and SIP domain): the PBX names the tenant of a
-- REGISTER by it. Unique across accounts; an account starts with its slug.
ALTER TABLE accounts ADD COLUMN sip_realm TEXT;
UPDATE accounts SET sip_realm = slug;
CREATE UNIQUE INDEX accounts_sip_realm_unique ON accounts (sip_realm);

-- R6: the name a phone authenticates with is the user's SIP user name, or their extension when
-- they have none; the directory finds the user by it, so it must name one user of the account.
CREATE INDEX users_sip_username_cleanup ON users (account_id, sip_username);
-- A SIP user name that repeats another user's SIP user name or is another user's extension
-- (written before this rule) is cleared here:
-- that user then authenticates with their extension, as users without one do. Clearing one can
-- make that extension clash with a third user's SIP user name, so the statement is repeated (a
-- chain longer than eight such clashes would stop the migration at the index below, naming it).
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
UPDATE users SET sip_username = NULL
 WHERE sip_username IS NOT NULL
   AND EXISTS (SELECT 1 FROM users o
                WHERE o.account_id = users.account_id AND o.id <> users.id
                  AND ((o.sip_username = users.sip_username AND o.id < users.id)
                       OR o.extension = users.sip_username));
DROP INDEX users_sip_username_cleanup;
ALTER TABLE users ADD COLUMN sip_name TEXT GENERATED ALWAYS AS (COALESCE(sip_username, extension)) VIRTUAL;
CREATE UNIQUE INDEX users_sip_name_unique ON users (account_id, sip_name);

-- R6: a SIP user name may not be another user's extension either (a call to that extension
-- would find the wrong user), nor an extension another user's SIP user name. The unique index
-- above covers a name against names; this covers the two columns against each other, for every
-- way of writing users. Reported as a clash on `sip_username` (error::unique_violation_field).
CREATE TRIGGER users_sip_name_clash_insert AFTER INSERT ON users
BEGIN
    SELECT RAISE(ABORT, 'sip_name_clash: sip_username is another user''s extension')
     WHERE NEW.sip_username IS NOT NULL
       AND EXISTS (SELECT 1 FROM users o WHERE o.account_id = NEW.account_id AND o.id <> NEW.id
                    AND o.extension = NEW.sip_username);
    SELECT RAISE(ABORT, 'sip_name_clash: extension is another user''s SIP user name')
     WHERE NEW.extension IS NOT NULL
       AND EXISTS (SELECT 1 FROM users o WHERE o.account_id = NEW.account_id AND o.id <> NEW.id
                    AND o.sip_name = NEW.extension AND o.sip_username IS NOT NULL);
END;
CREATE TRIGGER users_sip_name_clash_update AFTER UPDATE OF sip_username, extension, account_id ON users
BEGIN
    SELECT RAISE(ABORT, 'sip_name_clash: sip_username is another user''s extension')
     WHERE NEW.sip_username IS NOT NULL
       AND EXISTS (SELECT 1 FROM users o WHERE o.account_id = NEW.account_id AND o.id <> NEW.id
                    AND o.extension = NEW.sip_username);
    SELECT RAISE(ABORT, 'sip_name_clash: extension is another user''s SIP user name')
     WHERE NEW.extension IS NOT NULL
       AND EXISTS (SELECT 1 FROM users o WHERE o.account_id = NEW.account_id AND o.id <> NEW.id
                    AND o.sip_name = NEW.extension AND o.sip_username IS NOT NULL);
END;

-- The names deleted users answered to, so that the directory tells a phone of a deleted user
-- ("deleted") from a name never known. Written by a trigger: every way of deleting users
-- (one, a mass action, the CLI, an operator's SQL) leaves them. `kind`: sip_name or extension.
CREATE TABLE departed_sip_names (
    account_id  BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    user_id     BIGINT NOT NULL,
    departed_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, name)
);
CREATE TRIGGER users_departed AFTER DELETE ON users BEGIN
    INSERT OR REPLACE INTO departed_sip_names (account_id, kind, name, user_id, departed_at)
        SELECT OLD.account_id, 'sip_name', COALESCE(OLD.sip_username, OLD.extension), OLD.id,
               CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
         WHERE COALESCE(OLD.sip_username, OLD.extension) IS NOT NULL;
    INSERT OR REPLACE INTO departed_sip_names (account_id, kind, name, user_id, departed_at)
        SELECT OLD.account_id, 'extension', OLD.extension, OLD.id,
               CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
         WHERE OLD.extension IS NOT NULL;
END;

-- What each API token asked of the directory, added up from every instance's counts (written
-- in batches, not one row per lookup): shown under API tokens.
ALTER TABLE api_tokens ADD COLUMN directory_lookups BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN directory_not_allowed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN directory_unknown BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN directory_last_at BIGINT;
