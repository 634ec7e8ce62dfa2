-- Issue 15: single sign-on with OpenID Connect providers (R39). Keep in step with
-- ../postgres/0016_single_sign_on.sql.

-- An account's identity providers. The client secret is sealed (its owner is the provider);
-- `allowed_domains` and `new_user_roles`/`new_user_desks` are JSON arrays.
CREATE TABLE identity_providers (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id             BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    label                  TEXT    NOT NULL,
    label_key              TEXT    NOT NULL,
    issuer                 TEXT    NOT NULL,
    client_id              TEXT    NOT NULL,
    client_secret          TEXT    NOT NULL,
    scopes                 TEXT    NOT NULL,
    allowed_domains        TEXT    NOT NULL DEFAULT '[]',
    allow_unverified_email INTEGER NOT NULL DEFAULT 0,
    trust_second_factor    INTEGER NOT NULL DEFAULT 0,
    create_users           INTEGER NOT NULL DEFAULT 0,
    new_user_roles         TEXT    NOT NULL DEFAULT '[]',
    new_user_desks         TEXT    NOT NULL DEFAULT '[]',
    enabled                INTEGER NOT NULL DEFAULT 1,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    version                BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX identity_providers_label_unique ON identity_providers (account_id, label_key);

-- A person at a provider, linked to a user at their first sign-in: later sign-ins find the user
-- by `(issuer, subject)`, never again by email. One link per person and account.
CREATE TABLE linked_identities (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider_id   BIGINT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    issuer        TEXT   NOT NULL,
    subject       TEXT   NOT NULL,
    email         TEXT,
    linked_at     BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE UNIQUE INDEX linked_identities_subject_unique ON linked_identities (account_id, issuer, subject);
-- One person per user and issuer: a user linked at a provider is not linked to a second person there.
CREATE UNIQUE INDEX linked_identities_user_unique ON linked_identities (account_id, user_id, issuer);

-- A sign-in sent to a provider and not back yet: found by the hash of its `state`, bound to
-- the browser that started it, used once.
CREATE TABLE sso_sign_ins (
    state_hash     TEXT   PRIMARY KEY,
    account_id     BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider_id    BIGINT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    browser_hash   TEXT   NOT NULL,
    nonce          TEXT   NOT NULL,
    pkce_verifier  TEXT   NOT NULL,
    take_over      INTEGER NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX sso_sign_ins_expiry ON sso_sign_ins (expires_at);

-- How a sign-in in progress began: its later steps differ (no password change after SSO).
ALTER TABLE sign_in_challenges ADD COLUMN method TEXT NOT NULL DEFAULT 'password';

-- Who must sign in through the account's identity provider: `account` follows the account's
-- setting, `off` never with a password, `kept` always may (a break-glass admin).
ALTER TABLE users ADD COLUMN password_sign_in TEXT NOT NULL DEFAULT 'account';

-- Whether the account's people may sign in with a password (users whose `password_sign_in` is
-- `account`); off, they sign in through the account's identity provider.
ALTER TABLE accounts ADD COLUMN password_sign_in INTEGER NOT NULL DEFAULT 1;
