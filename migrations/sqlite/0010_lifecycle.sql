-- Issue 12: deactivation for a time range with reactivation by itself (R18), and the activation
-- log that keeps every deactivation and reactivation.

-- A user's periods out. `state`: pending (not begun), in_effect (the job or the person who
-- saved it deactivated the user), ended (reactivated, by the job at ends_at or by hand),
-- cancelled (withdrawn before it began, or found the user already deactivated when it began).
-- `due_at` is the next moment the job has something to do with the period: starts_at while
-- pending, ends_at while in effect (NULL when open-ended), NULL once ended or cancelled. The
-- job claims a due period by moving its state in the transaction that applies it, so with
-- several instances on one database each change happens once.
CREATE TABLE deactivation_periods (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT,
    reason      TEXT,
    state       TEXT   NOT NULL,
    due_at      BIGINT,
    created_by  BIGINT,
    created_by_label TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX deactivation_periods_due ON deactivation_periods (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deactivation_periods_user ON deactivation_periods (user_id, starts_at);
CREATE INDEX deactivation_periods_account ON deactivation_periods (account_id, starts_at);

-- The user's current or next open period, kept on the user's row so that the list and the
-- user's page show it without another read (and the list's change triggers see it change).
ALTER TABLE users ADD COLUMN deactivation_from BIGINT;
ALTER TABLE users ADD COLUMN deactivation_until BIGINT;

-- Every deactivation and reactivation. It outlives the user (no foreign key on user_id): who
-- was out when is asked after people leave. `user_id` NULL: the whole account was disabled or
-- enabled. `cause` (what triggered it): manual, scheduled, bulk, import, account.
CREATE TABLE activation_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     BIGINT,
    user_label  TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    change      TEXT   NOT NULL,
    cause       TEXT   NOT NULL,
    actor_id    BIGINT,
    actor_label TEXT   NOT NULL,
    reason      TEXT,
    period_id   BIGINT
);
CREATE INDEX activation_log_account ON activation_log (account_id, at, id);
CREATE INDEX activation_log_user ON activation_log (account_id, user_id, at, id);

-- R7: how the console shows times to the account's users who chose none (NULL: UTC,
-- YYYY/MM/DD, 24 h).
ALTER TABLE accounts ADD COLUMN time_zone TEXT;
ALTER TABLE accounts ADD COLUMN date_format TEXT;
ALTER TABLE accounts ADD COLUMN time_format TEXT;

-- R20: the members who occupy a seat, counted on every creation, reactivation and import
-- (with those out for a time with a date of return, found through their period in effect).
CREATE INDEX users_seats ON users (account_id, login_key) WHERE is_end_user = FALSE AND status IN ('active', 'invited');

-- One row per account that every change which takes a seat or may remove the last admin
-- updates first, in its transaction: such changes then follow one another per account. A mass
-- action works on a PostgreSQL snapshot (REPEATABLE READ) whose counts could miss a concurrent
-- change; updating this row after such a change committed makes PostgreSQL refuse the mass
-- action (40001, answered 409 "try again") rather than let it count wrong.
CREATE TABLE account_guards (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    changes    BIGINT NOT NULL DEFAULT 0
);

-- R20: whether the account's own billing.manage holders (its Financial role) may change its
-- number of seats; the platform operator's choice, off by default.
ALTER TABLE accounts ADD COLUMN seats_self_service INTEGER NOT NULL DEFAULT 0;
