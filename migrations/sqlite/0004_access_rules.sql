-- Issue 4: access rules by address and country (R35).

-- The account's rules (user_id NULL) and users' own, each list in order. The value is the
-- rule's canonical text (an address, a range a-b, a CIDR block, or a country code).
CREATE TABLE access_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     BIGINT REFERENCES users(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    action      TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX access_rules_owner ON access_rules (account_id, user_id, position);
CREATE INDEX access_rules_user ON access_rules (user_id);

-- How a user's own rules combine with the account's: inherit, extend or overwrite.
ALTER TABLE users ADD COLUMN access_mode TEXT NOT NULL DEFAULT 'inherit';
