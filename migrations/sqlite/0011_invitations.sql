-- Issue 12: invitations (R19). An invited user exists with status 'invited' (occupying a seat)
-- until they accept; the invitation holds the one-time link, stored as a SHA-256 hash only.
-- `state`: saved (not sent yet: "save and send later"), sent, accepted, revoked. Each sending
-- draws a new link, so only the newest one works; `expires_at` is that sending's end.
-- `user_id` is kept after a revocation removed the user (SET NULL), so that the link
-- still answers "revoked" rather than "unknown".
CREATE TABLE invitations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id          BIGINT REFERENCES users(id) ON DELETE SET NULL,
    user_label       TEXT   NOT NULL,
    email            TEXT   NOT NULL,
    token_hash       TEXT   NOT NULL UNIQUE,
    state            TEXT   NOT NULL,
    invited_by       BIGINT,
    invited_by_label TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    sends            BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT,
    ended_at         BIGINT,
    version          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX invitations_account ON invitations (account_id, id);
-- One open invitation per user.
CREATE UNIQUE INDEX invitations_open ON invitations (user_id) WHERE state IN ('saved', 'sent');

-- The open invitation's end, on the user's row, for the list's "expired" badge.
ALTER TABLE users ADD COLUMN invitation_expires_at BIGINT;
