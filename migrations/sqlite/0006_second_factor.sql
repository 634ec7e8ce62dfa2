-- Issue 4: second factor (R26–R30): a method and a mode per user, the TOTP secret (sealed with
-- the server key, as SIP passwords are), recovery codes, and what a user has signed in from
-- before (to tell a suspicious sign-in).

-- users.two_factor_method (issue 1) gains 'either' (the user picks email or authenticator).
-- always | suspicious (only for a sign-in from a new address, device or country)
ALTER TABLE users ADD COLUMN two_factor_mode TEXT NOT NULL DEFAULT 'always';
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_confirmed_at BIGINT;
-- The last 30-second step whose code was accepted: a code is good once.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- A new secret being set up from My Account, until a code confirms it (for ten minutes).
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_at BIGINT;

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Where a user has signed in from: addresses (with their country) and devices (a random token the
-- client keeps). A sign-in from none of these is suspicious (R30).
CREATE TABLE known_addresses (
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address    TEXT   NOT NULL,
    country    TEXT,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_id, address)
);
CREATE TABLE known_devices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT   NOT NULL UNIQUE,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX known_devices_user ON known_devices (user_id);

-- The second-factor step of a sign-in: the secret being set up, the emailed code, the attempts.
ALTER TABLE sign_in_challenges ADD COLUMN pending_secret TEXT;
ALTER TABLE sign_in_challenges ADD COLUMN code_hash TEXT;
ALTER TABLE sign_in_challenges ADD COLUMN code_expires_at BIGINT;
ALTER TABLE sign_in_challenges ADD COLUMN code_sent_at BIGINT;
ALTER TABLE sign_in_challenges ADD COLUMN codes_sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sign_in_challenges ADD COLUMN wrong_codes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sign_in_challenges ADD COLUMN device_hash TEXT;

-- One-time links that bring a user to set up their authenticator (seed 002 emails the QR code;
-- Roster emails this link instead, never the secret).
CREATE TABLE enrolment_links (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX enrolment_links_user ON enrolment_links (user_id);
