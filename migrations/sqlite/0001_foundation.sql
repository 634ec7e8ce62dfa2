-- Roster foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql:
-- the two differ only where the engines do (identity columns, blobs).
-- Times are BIGINT milliseconds since the Unix epoch in both engines. Flags are BOOLEAN in
-- PostgreSQL and INTEGER 0/1 in SQLite (sqlx's Any driver cannot carry SQLite BOOLEAN columns;
-- `store::Flag` reads either).

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    seat_limit  BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id             BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    login                  TEXT    NOT NULL,
    login_key              TEXT    NOT NULL,
    email                  TEXT,
    email_key              TEXT,
    first_name             TEXT,
    last_name              TEXT,
    phone                  TEXT,
    mobile                 TEXT,
    extension              TEXT,
    sip_username           TEXT,
    sip_password           TEXT,
    phone_topology         TEXT,
    company                TEXT,
    related_contact        TEXT,
    external_id            TEXT,
    time_zone              TEXT,
    date_format            TEXT,
    time_format            TEXT,
    receive_email          INTEGER NOT NULL DEFAULT 1,
    receive_sms            INTEGER NOT NULL DEFAULT 0,
    is_agent               INTEGER NOT NULL DEFAULT 0,
    is_supervisor          INTEGER NOT NULL DEFAULT 0,
    is_superuser           INTEGER NOT NULL DEFAULT 0,
    is_end_user            INTEGER NOT NULL DEFAULT 0,
    is_company_supervisor  INTEGER NOT NULL DEFAULT 0,
    status                 TEXT    NOT NULL DEFAULT 'active',
    two_factor_method      TEXT    NOT NULL DEFAULT 'disabled',
    password_hash          TEXT,
    password_changed_at    BIGINT,
    must_change_password   INTEGER NOT NULL DEFAULT 0,
    avatar_at              BIGINT,
    -- lowercased login, names, email, extension, external id: what the search box matches
    search_text            TEXT    NOT NULL DEFAULT '',
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    version                BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_login_key_unique ON users (account_id, login_key);
CREATE UNIQUE INDEX users_email_key_unique ON users (account_id, email_key);
CREATE UNIQUE INDEX users_extension_unique ON users (account_id, extension);
CREATE INDEX users_status_login ON users (account_id, status, login_key);

-- Avatars live apart so that listing users never reads image bytes.
CREATE TABLE user_avatars (
    user_id      BIGINT NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    content_type TEXT   NOT NULL,
    data         BLOB  NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    builtin     TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX roles_name_key_unique ON roles (account_id, name_key);

CREATE TABLE role_permissions (
    role_id    BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT   NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    permission TEXT   NOT NULL,
    PRIMARY KEY (user_id, permission)
);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX groups_name_key_unique ON groups (account_id, name_key);

CREATE TABLE group_roles (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    role_id  BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);

CREATE TABLE group_members (
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_members_group ON group_members (group_id, user_id);

CREATE TABLE desks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX desks_name_key_unique ON desks (account_id, name_key);

CREATE TABLE user_desks (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    desk_id BIGINT NOT NULL REFERENCES desks(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, desk_id)
);
CREATE INDEX user_desks_desk ON user_desks (desk_id, user_id);

CREATE TABLE skills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX skills_name_key_unique ON skills (account_id, name_key);

CREATE TABLE user_skills (
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill_id BIGINT NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, skill_id)
);
CREATE INDEX user_skills_skill ON user_skills (skill_id, user_id);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT   NOT NULL UNIQUE,
    kind         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    address      TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE activity (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    actor_id     BIGINT,
    actor_label  TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    target_type  TEXT   NOT NULL,
    target_id    BIGINT,
    target_label TEXT   NOT NULL,
    changes      TEXT,
    address      TEXT
);
CREATE INDEX activity_account ON activity (account_id, id);
CREATE INDEX activity_target ON activity (account_id, target_type, target_id, id);
CREATE INDEX activity_actor ON activity (account_id, actor_id, id);
CREATE INDEX activity_action ON activity (account_id, action, id);
