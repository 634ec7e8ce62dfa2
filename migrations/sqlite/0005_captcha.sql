-- Issue 4: CAPTCHA at sign-in (R31).

-- Per user: every sign-in with this login must answer a CAPTCHA first.
ALTER TABLE users ADD COLUMN captcha_required INTEGER NOT NULL DEFAULT 0;

-- A CAPTCHA shown to a sign-in. Not tied to a user: the account's policy asks unknown logins
-- too. The client holds the random challenge; only its hash is stored, and the answers only
-- as SHA-256 hashes salted with the challenge. The image is kept so that every instance
-- serves the same picture.
CREATE TABLE captcha_challenges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT   NOT NULL UNIQUE,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    answer_hashes TEXT   NOT NULL,
    image         BLOB  NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX captcha_challenges_expiry ON captcha_challenges (expires_at);
