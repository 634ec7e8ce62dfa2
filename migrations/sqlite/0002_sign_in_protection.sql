-- Issue 3: password policy and history, lockout, sign-in challenges, session timeouts, API tokens.

-- The account's security settings (password policy, lockout, session timeouts) as one JSON
-- document: read with the account, edited as a whole with the account's version as ETag.
ALTER TABLE accounts ADD COLUMN security TEXT NOT NULL DEFAULT '{}';

ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failures_since BIGINT;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
-- Per-user overrides; NULL means the account's default (R24, R34). 0 months means never.
ALTER TABLE users ADD COLUMN password_expiry_months BIGINT;
ALTER TABLE users ADD COLUMN console_idle_minutes BIGINT;
ALTER TABLE users ADD COLUMN phone_idle_minutes BIGINT;
CREATE INDEX users_locked ON users (account_id, locked_until) WHERE locked_until IS NOT NULL;

CREATE TABLE password_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, id);

-- Failed sign-ins per client address, shared by every instance.
CREATE TABLE address_failures (
    address       TEXT   PRIMARY KEY,
    failures      BIGINT NOT NULL,
    since         BIGINT NOT NULL,
    blocked_until BIGINT
);

-- A sign-in that passed the password but has a step left (password change now; second factor later).
CREATE TABLE sign_in_challenges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT    NOT NULL UNIQUE,
    account_id   BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    step         TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    session_kind TEXT    NOT NULL,
    take_over    INTEGER NOT NULL DEFAULT 0,
    address      TEXT,
    user_agent   TEXT,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX sign_in_challenges_user ON sign_in_challenges (user_id);

CREATE INDEX sessions_account ON sessions (account_id, id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    permissions  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id, id);
