-- Issue 4: the mail outbox and password reset links.

-- Mail waits here until a worker (of any instance) claims and sends it. The body carries codes
-- and links: it is erased once the message is sent or has failed for good.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT,
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    failed_at       BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_account ON mail_outbox (account_id, id);

-- Forgot-password links: only the token's SHA-256 is kept; a link ends when used, replaced
-- by a newer one, or at its expiry.
CREATE TABLE password_resets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT    NOT NULL UNIQUE,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    ended_at    BIGINT,
    end_reason  TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
