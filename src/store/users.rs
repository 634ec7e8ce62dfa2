//! Users, their assignments (roles, groups, desks, skills, direct permissions) and avatars.

use std::collections::HashMap;

use sqlx::Row;

use super::grants::Seen;
use super::sql::Sql;
use super::{Conn, Engine};
use crate::ids::{AccountId, UserId};
use crate::model::user::{
    Assignments, PasswordSignIn, Ref, TwoFactorMethod, TwoFactorMode, UserFields, UserRecord, UserStatus,
};
use crate::model::user_filter::{Target, UserFilter};

/// What a `UserRecord` is read from.
pub(crate) const COLUMNS: &str = "u.id, u.account_id, u.login, u.email, u.first_name, u.last_name, u.phone, u.mobile, \
    u.extension, u.sip_username, u.sip_password, u.phone_topology, u.company, u.related_contact, u.external_id, \
    u.time_zone, u.date_format, u.time_format, u.receive_email, u.receive_sms, u.is_agent, u.is_supervisor, \
    u.is_superuser, u.is_end_user, u.is_company_supervisor, u.status, u.two_factor_method, u.two_factor_mode, \
    u.totp_confirmed_at, \
    u.must_change_password, u.password_changed_at, u.avatar_at, u.created_at, u.updated_at, u.version, \
    u.locked_until, u.failed_sign_ins, u.password_expiry_months, u.console_idle_minutes, u.phone_idle_minutes, \
    u.captcha_required, u.password_sign_in, u.deactivation_from, u.deactivation_until, u.invitation_expires_at";

/// The things a user is linked to, each through its own join table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    Roles,
    Groups,
    Desks,
    Skills,
    /// Queue memberships (R16). Not among `ALL`: a membership has a join option, a position and
    /// a time group, so it is set through the queues' service, never wholesale with the others.
    Queues,
}

impl Link {
    /// The links a user's form, import and export set as plain lists of ids.
    pub const ALL: [Link; 4] = [Link::Roles, Link::Groups, Link::Desks, Link::Skills];
    /// Every link a user is listed and filtered by (`ALL`, then queues).
    pub const LISTED: [Link; 5] = [Link::Roles, Link::Groups, Link::Desks, Link::Skills, Link::Queues];

    pub(crate) fn join_table(self) -> &'static str {
        match self {
            Link::Roles => "user_roles",
            Link::Groups => "group_members",
            Link::Desks => "user_desks",
            Link::Skills => "user_skills",
            Link::Queues => "queue_members",
        }
    }

    pub(crate) fn column(self) -> &'static str {
        match self {
            Link::Roles => "role_id",
            Link::Groups => "group_id",
            Link::Desks => "desk_id",
            Link::Skills => "skill_id",
            Link::Queues => "queue_id",
        }
    }

    pub(crate) fn table(self) -> &'static str {
        match self {
            Link::Roles => "roles",
            Link::Groups => "groups",
            Link::Desks => "desks",
            Link::Skills => "skills",
            Link::Queues => "queues",
        }
    }

    pub fn field(self) -> &'static str {
        self.table()
    }
}

fn opt(v: Option<&impl AsRef<str>>) -> Option<String> {
    v.map(|s| s.as_ref().to_string())
}

/// Binds the 26 field columns, in the order `insert` and `update` both name them.
fn bind_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    f: &'q UserFields,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(f.login.as_str())
        .bind(f.login.key())
        .bind(opt(f.email.as_ref()))
        .bind(f.email.as_ref().map(|e| e.key()))
        .bind(opt(f.first_name.as_ref()))
        .bind(opt(f.last_name.as_ref()))
        .bind(opt(f.phone.as_ref()))
        .bind(opt(f.mobile.as_ref()))
        .bind(opt(f.extension.as_ref()))
        .bind(opt(f.sip_username.as_ref()))
        .bind(f.phone_topology.map(|t| t.as_str()))
        .bind(opt(f.company.as_ref()))
        .bind(opt(f.related_contact.as_ref()))
        .bind(opt(f.external_id.as_ref()))
        .bind(f.time_zone.as_ref().map(|t| t.as_str()))
        .bind(f.date_format.map(|d| d.as_str()))
        .bind(f.time_format.map(|t| t.as_str()))
        .bind(f.flags.receive_email)
        .bind(f.flags.receive_sms)
        .bind(f.flags.is_agent)
        .bind(f.flags.is_supervisor)
        .bind(f.flags.is_superuser)
        .bind(f.flags.is_end_user)
        .bind(f.flags.is_company_supervisor)
        .bind(f.status.as_str())
        .bind(f.two_factor_method.as_str())
        .bind(f.two_factor_mode.as_str())
}

/// `account_id`, then the fields in `bind_fields`' order, then the password and the times.
pub(crate) const INSERT: &str = "INSERT INTO users (account_id, login, login_key, email, email_key, first_name, \
    last_name, phone, mobile, extension, sip_username, phone_topology, company, related_contact, external_id, time_zone, \
    date_format, time_format, receive_email, receive_sms, is_agent, is_supervisor, is_superuser, is_end_user, \
    is_company_supervisor, status, two_factor_method, two_factor_mode, password_hash, password_changed_at, \
    must_change_password, search_text, created_at, updated_at, version) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
    $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $33, 1) RETURNING id";

pub async fn insert(
    conn: &mut Conn,
    account: AccountId,
    f: &UserFields,
    password_hash: Option<&str>,
    must_change_password: bool,
    now: i64,
) -> Result<UserId, sqlx::Error> {
    let query = sqlx::query(INSERT).bind(account.0);
    let query = bind_fields(query, f)
        .bind(password_hash)
        .bind(password_hash.map(|_| now))
        .bind(must_change_password)
        .bind(f.search_text())
        .bind(now);
    let row = query.fetch_one(&mut *conn).await?;
    Ok(UserId(row.try_get(0)?))
}

/// The fields in `bind_fields`' order, then the search text, the time and the row's key.
pub(crate) const UPDATE: &str = "UPDATE users SET login = $1, login_key = $2, email = $3, email_key = $4, \
    first_name = $5, last_name = $6, phone = $7, mobile = $8, extension = $9, sip_username = $10, phone_topology = $11, \
    company = $12, related_contact = $13, external_id = $14, time_zone = $15, date_format = $16, time_format = $17, \
    receive_email = $18, receive_sms = $19, is_agent = $20, is_supervisor = $21, is_superuser = $22, \
    is_end_user = $23, is_company_supervisor = $24, status = $25, two_factor_method = $26, two_factor_mode = $27, \
    search_text = $28, updated_at = $29, version = version + 1 \
    WHERE account_id = $30 AND id = $31 AND version = $32";

/// Writes every field if the stored version is still `expected_version`; `false` when it is not.
pub async fn update(
    conn: &mut Conn,
    account: AccountId,
    id: UserId,
    f: &UserFields,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(UPDATE);
    let done = bind_fields(query, f)
        .bind(f.search_text())
        .bind(now)
        .bind(account.0)
        .bind(id.0)
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the sealed SIP password (or clears it).
pub async fn set_sip_password(conn: &mut Conn, id: UserId, sealed: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET sip_password = $1 WHERE id = $2").bind(sealed).bind(id.0).execute(&mut *conn).await?;
    Ok(())
}

/// Moves a user from one status to another; false when they were not in `from` (someone else
/// changed them first, or they are gone).
pub async fn move_status(
    conn: &mut Conn,
    account: AccountId,
    id: UserId,
    from: UserStatus,
    to: UserStatus,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET status = $1, updated_at = $2, version = version + 1 \
         WHERE account_id = $3 AND id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(account.0)
    .bind(id.0)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a change that is not in the row itself (assignments, avatar) so ETags move on.
pub async fn touch(conn: &mut Conn, id: UserId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, account: AccountId, id: UserId) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.account_id = $1 AND u.id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// The account's user with this email address (`Email::key`), if any.
pub async fn by_email_key(
    conn: &mut Conn,
    account: AccountId,
    email_key: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.account_id = $1 AND u.email_key = $2"))
        .bind(account.0)
        .bind(email_key)
        .fetch_optional(&mut *conn)
        .await
}

/// A user found by id alone (a link that names no account).
pub async fn by_id(conn: &mut Conn, id: UserId) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// The user and their password hash, for sign-in.
pub async fn get_for_sign_in(
    conn: &mut Conn,
    account: AccountId,
    login_key: &str,
) -> Result<Option<(UserRecord, Option<String>)>, sqlx::Error> {
    if !super::may_be_stored(login_key) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, u.password_hash FROM users u WHERE u.account_id = $1 AND u.login_key = $2"
    ))
    .bind(account.0)
    .bind(login_key)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            use sqlx::FromRow;
            let user = UserRecord::from_row(&row)?;
            let hash: Option<String> = row.try_get("password_hash")?;
            Ok(Some((user, hash)))
        }
    }
}

pub async fn find_id_by_login(
    conn: &mut Conn,
    account: AccountId,
    login_key: &str,
) -> Result<Option<UserId>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM users WHERE account_id = $1 AND login_key = $2")
        .bind(account.0)
        .bind(login_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0).map(UserId)).transpose()
}

pub async fn delete(conn: &mut Conn, account: AccountId, id: UserId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(
    conn: &mut Conn,
    id: UserId,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, \
         updated_at = $3, version = version + 1 WHERE id = $4",
    )
    .bind(hash)
    .bind(must_change)
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn count_in_account(conn: &mut Conn, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM users WHERE account_id = $1")
        .bind(account.0)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// Replaces the user's links of one kind with `ids`.
pub async fn set_links(conn: &mut Conn, user: UserId, link: Link, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DELETE FROM {} WHERE user_id = $1", link.join_table()))
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    for id in ids {
        sqlx::query(&format!("INSERT INTO {} (user_id, {}) VALUES ($1, $2)", link.join_table(), link.column()))
            .bind(user.0)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_permissions(conn: &mut Conn, user: UserId, permissions: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_permissions WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    for p in permissions {
        sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1, $2)")
            .bind(user.0)
            .bind(p.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Roles, groups, desks, skills, queues and direct permissions of each given user (a page of the
/// list), in one statement: the six kinds are one `UNION ALL` over the page's ids, named once in a
/// `VALUES` list, so a page costs one round trip and one plan, not five, and the same SQL runs
/// on both engines.
pub async fn assignments(conn: &mut Conn, users: &[UserId]) -> Result<HashMap<UserId, Assignments>, sqlx::Error> {
    let mut out: HashMap<UserId, Assignments> = users.iter().map(|id| (*id, Assignments::default())).collect();
    if users.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new("WITH page (id) AS (VALUES ");
    for (i, user) in users.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" }).bind(user.0).push(")");
    }
    sql.push(") ");
    for (kind, link) in Link::LISTED.into_iter().enumerate() {
        // Only roles show a description.
        let description = if link == Link::Roles { "t.description" } else { "''" };
        sql.push(&format!(
            "SELECT CAST({kind} AS BIGINT) AS kind, j.user_id, t.id, t.name, {description} AS description, \
             t.name_key AS sort_key FROM page p JOIN {} j ON j.user_id = p.id JOIN {} t ON t.id = j.{} UNION ALL ",
            link.join_table(),
            link.table(),
            link.column()
        ));
    }
    sql.push(&format!(
        "SELECT CAST({PERMISSIONS} AS BIGINT) AS kind, j.user_id, CAST(0 AS BIGINT), j.permission, '', j.permission \
         FROM page p JOIN user_permissions j ON j.user_id = p.id ORDER BY 1, 6"
    ));
    // Kept prepared on both engines: its shape depends only on the page's size, and every
    // lookup is by key, so PostgreSQL's cached plan is as good as a fresh one, without planning
    // a five-branch UNION for every page (which cost more PostgreSQL CPU than the five plain
    // statements it replaces).
    for row in sql.query().persistent(true).fetch_all(&mut *conn).await? {
        let kind: i64 = row.try_get(0)?;
        let user = UserId(row.try_get(1)?);
        let a = out.entry(user).or_default();
        if kind == PERMISSIONS {
            a.permissions.push(row.try_get(3)?);
            continue;
        }
        let link = Link::LISTED[kind as usize];
        let r = Ref {
            id: row.try_get(2)?,
            name: row.try_get(3)?,
            description: (link == Link::Roles).then(|| row.try_get(4)).transpose()?,
        };
        match link {
            Link::Roles => a.roles.push(r),
            Link::Groups => a.groups.push(r),
            Link::Desks => a.desks.push(r),
            Link::Skills => a.skills.push(r),
            Link::Queues => a.queues.push(r),
        }
    }
    Ok(out)
}

/// The `kind` of direct permissions' rows in `assignments` (after the five links, 0–4).
const PERMISSIONS: i64 = 5;

/// What a filtered statement reads, which decides how its link filters are best written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// One page in login order: walk the login index and check each user (`EXISTS`), stopping
    /// after a page. Driving from a desk's members instead would sort them all first.
    Page,
    /// A whole set (counts, mass actions): start from the link table's index (`u.id IN …`), so a
    /// desk of 100,000 users costs 100,000 lookups rather than a check of every user (10× faster
    /// at a million users on SQLite).
    Set,
}

/// `u.account_id = … AND <scope> AND <filters>` for the users table aliased `u`.
pub(crate) fn filter_sql(account: AccountId, seen: &Seen, filter: &UserFilter, reading: Reading) -> Sql {
    let mut sql = Sql::new("u.account_id = ");
    sql.bind(account.0);
    sql.append(&match reading {
        Reading::Page => seen.users_sql_per_row(),
        Reading::Set => seen.users_sql(),
    });
    if !filter.status.is_empty() {
        let statuses: Vec<&str> = filter.status.iter().map(|s| s.as_str()).collect();
        sql.push(" AND u.status IN (").bind_list(&statuses).push(")");
    }
    if filter.locked {
        sql.push(" AND u.locked_until > ").bind(crate::clock::now_ms());
    }
    if let Some(agent) = filter.agent {
        sql.push(" AND u.is_agent = ").bind(agent);
    }
    if let Some(supervisor) = filter.supervisor {
        sql.push(" AND u.is_supervisor = ").bind(supervisor);
    }
    for (link, ids) in [
        (Link::Roles, filter.role.iter().map(|i| i.0).collect::<Vec<_>>()),
        (Link::Groups, filter.group.iter().map(|i| i.0).collect()),
        (Link::Desks, filter.desk.iter().map(|i| i.0).collect()),
        (Link::Skills, filter.skill.iter().map(|i| i.0).collect()),
        (Link::Queues, filter.queue.iter().map(|i| i.0).collect()),
    ] {
        if !ids.is_empty() {
            let (table, column) = (link.join_table(), link.column());
            match reading {
                Reading::Page => sql
                    .push(&format!(" AND EXISTS (SELECT 1 FROM {table} j WHERE j.user_id = u.id AND j.{column} IN (")),
                Reading::Set => {
                    sql.push(&format!(" AND u.id IN (SELECT j.user_id FROM {table} j WHERE j.{column} IN ("))
                }
            };
            sql.bind_list(&ids).push("))");
        }
    }
    if let Some(q) = filter.search() {
        let pattern = format!("%{}%", super::sql::escape_like(&q));
        sql.push(" AND u.search_text LIKE ").bind(pattern).push(" ESCAPE '\\'");
    }
    sql
}

pub(crate) fn target_sql(account: AccountId, seen: &Seen, target: &Target) -> Sql {
    match target {
        Target::All => filter_sql(account, seen, &UserFilter::default(), Reading::Set),
        Target::Filter(filter) => filter_sql(account, seen, filter, Reading::Set),
        Target::Ids(ids) => {
            let mut sql = filter_sql(account, seen, &UserFilter::default(), Reading::Set);
            let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
            if ids.is_empty() {
                sql.push(" AND 1 = 0");
            } else {
                sql.push(" AND u.id IN (").bind_list(&ids).push(")");
            }
            sql
        }
    }
}

/// One page in login order, after the login key `after` (keyset pagination).
pub async fn list(
    conn: &mut Conn,
    account: AccountId,
    seen: &Seen,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM users u WHERE "));
    sql.append(&filter_sql(account, seen, filter, Reading::Page));
    if let Some(after) = after {
        sql.push(" AND u.login_key > ").bind(after);
    }
    sql.push(" ORDER BY u.login_key LIMIT ").bind(limit);
    // SQLite keeps the statement prepared (parsing it was a fifth of a page's work): unlike
    // PostgreSQL's cached generic plans (see `Sql::query`), SQLite plans a kept statement again
    // when new values could change the plan. Statements differ only by the filter's shape.
    let sqlite = Engine::of(conn) == Engine::Sqlite;
    sql.query_as().persistent(sqlite).fetch_all(&mut *conn).await
}

pub async fn count(conn: &mut Conn, account: AccountId, seen: &Seen, target: &Target) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM users u WHERE ");
    sql.append(&target_sql(account, seen, target));
    sql.query().fetch_one(&mut *conn).await?.try_get(0)
}

/// Ids among `ids` that are not users of the account that `seen` covers.
pub async fn missing_ids(
    conn: &mut Conn,
    account: AccountId,
    seen: &Seen,
    ids: &[UserId],
) -> Result<Vec<UserId>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let mut sql = Sql::new("SELECT u.id FROM users u WHERE u.account_id = ");
    sql.bind(account.0).append(&seen.users_sql()).push(" AND u.id IN (").bind_list(&raw).push(")");
    let found: Vec<i64> =
        sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    Ok(ids.iter().copied().filter(|id| !found.contains(&id.0)).collect())
}

pub struct Avatar {
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at: i64,
}

pub async fn put_avatar(
    conn: &mut Conn,
    user: UserId,
    content_type: &str,
    data: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_avatars WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO user_avatars (user_id, content_type, data, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(user.0)
        .bind(content_type)
        .bind(data.to_vec())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE users SET avatar_at = $1, updated_at = $1, version = version + 1 WHERE id = $2")
        .bind(now)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get_avatar(conn: &mut Conn, account: AccountId, user: UserId) -> Result<Option<Avatar>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.content_type, a.data, a.updated_at FROM user_avatars a JOIN users u ON u.id = a.user_id \
         WHERE u.account_id = $1 AND a.user_id = $2",
    )
    .bind(account.0)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok(Avatar { content_type: r.try_get(0)?, data: r.try_get(1)?, updated_at: r.try_get(2)? })).transpose()
}

pub async fn delete_avatar(conn: &mut Conn, user: UserId, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM user_avatars WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?;
    if done.rows_affected() > 0 {
        sqlx::query("UPDATE users SET avatar_at = NULL, updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(now)
            .bind(user.0)
            .execute(&mut *conn)
            .await?;
    }
    Ok(done.rows_affected() > 0)
}

/// Which of login, email and extension another user of the account already has.
pub async fn taken_fields(
    conn: &mut Conn,
    account: AccountId,
    me: Option<UserId>,
    f: &UserFields,
) -> Result<Vec<&'static str>, sqlx::Error> {
    let me = me.map(|m| m.0).unwrap_or(0);
    let mut taken = Vec::new();
    let checks: [(&'static str, &str, Option<String>); 3] = [
        ("login", "login_key", Some(f.login.key())),
        ("email", "email_key", f.email.as_ref().map(|e| e.key())),
        ("extension", "extension", f.extension.as_ref().map(|e| e.as_str().to_string())),
    ];
    for (field, column, value) in checks {
        let Some(value) = value else { continue };
        let row = sqlx::query(&format!("SELECT id FROM users WHERE account_id = $1 AND {column} = $2 AND id <> $3"))
            .bind(account.0)
            .bind(value)
            .bind(me)
            .fetch_optional(&mut *conn)
            .await?;
        if row.is_some() {
            taken.push(field);
        }
    }
    Ok(taken)
}

// ---- the importer: many users in few statements --------------------------------------------

/// The fields that are unique in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unique {
    Login,
    Email,
    Extension,
}

impl Unique {
    pub const ALL: [Unique; 3] = [Unique::Login, Unique::Email, Unique::Extension];

    pub fn field(self) -> &'static str {
        match self {
            Unique::Login => "login",
            Unique::Email => "email",
            Unique::Extension => "extension",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Unique::Login => "login_key",
            Unique::Email => "email_key",
            Unique::Extension => "extension",
        }
    }
}

/// Those of `values` (login keys, email keys or extensions) that users of the account already have.
pub async fn taken_values(
    conn: &mut Conn,
    account: AccountId,
    field: Unique,
    values: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut taken = Vec::new();
    for chunk in values.chunks(500) {
        let column = field.column();
        let mut sql = Sql::new(format!("SELECT {column} FROM users WHERE account_id = "));
        sql.bind(account.0).push(&format!(" AND {column} IN (")).bind_list(chunk).push(")");
        if field == Unique::Extension {
            // A queue's number is dialled like an extension (R16).
            sql.push(" UNION ALL SELECT extension FROM queues WHERE account_id = ").bind(account.0);
            sql.push(" AND extension IN (").bind_list(chunk).push(")");
        }
        for row in sql.query().fetch_all(&mut *conn).await? {
            taken.push(row.try_get(0)?);
        }
    }
    Ok(taken)
}

pub async fn password_hash(conn: &mut Conn, id: UserId) -> Result<Option<String>, sqlx::Error> {
    let row =
        sqlx::query("SELECT password_hash FROM users WHERE id = $1").bind(id.0).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(|r| r.try_get::<Option<String>, _>(0).ok().flatten()))
}

/// Replaces the hash without touching anything else (an upgrade to the current argon2
/// parameters at sign-in: the same password, so no history entry and no version bump), unless
/// the password was changed meanwhile.
pub async fn upgrade_password_hash(conn: &mut Conn, id: UserId, old: &str, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
        .bind(hash)
        .bind(id.0)
        .bind(old)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What sign-in checks again just before it opens a session.
#[derive(Debug, sqlx::FromRow)]
pub struct SignInState {
    pub status: UserStatus,
    pub locked_until: Option<crate::clock::Timestamp>,
    pub password_hash: Option<String>,
}

/// Within a transaction, the row stays locked until it ends.
pub async fn sign_in_state(conn: &mut Conn, id: UserId) -> Result<Option<SignInState>, sqlx::Error> {
    let row_lock = super::Engine::of(conn).row_lock();
    sqlx::query_as(&format!("SELECT status, locked_until, password_hash FROM users WHERE id = $1{row_lock}"))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// A user's own security settings, as written (`None`: the account's).
pub struct SecurityFields {
    pub password_expiry_months: Option<i64>,
    pub console_idle_minutes: Option<i64>,
    pub phone_idle_minutes: Option<i64>,
    pub password_sign_in: PasswordSignIn,
}

/// Per-user overrides of the account's security settings (R24, R34).
pub async fn set_security_overrides(
    conn: &mut Conn,
    account: AccountId,
    id: UserId,
    o: &SecurityFields,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET password_expiry_months = $1, console_idle_minutes = $2, phone_idle_minutes = $3, \
         password_sign_in = $7, updated_at = $4, version = version + 1 WHERE account_id = $5 AND id = $6",
    )
    .bind(o.password_expiry_months)
    .bind(o.console_idle_minutes)
    .bind(o.phone_idle_minutes)
    .bind(now)
    .bind(account.0)
    .bind(id.0)
    .bind(o.password_sign_in.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A user's own choice of second-factor method and mode (My Account).
pub async fn set_two_factor(
    conn: &mut Conn,
    id: UserId,
    method: TwoFactorMethod,
    mode: TwoFactorMode,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET two_factor_method = $1, two_factor_mode = $2, updated_at = $3, version = version + 1 WHERE id = $4")
        .bind(method.as_str())
        .bind(mode.as_str())
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::SignInState;
    use crate::model::user::UserStatus;

    /// A status Roster does not know fails the read: it is never taken for another.
    #[tokio::test]
    async fn an_unknown_stored_status_is_a_decode_error() {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:").await.expect("an in-memory database");
        let row = |status: &str| {
            format!(
                "SELECT '{status}' AS status, CAST(NULL AS BIGINT) AS locked_until, CAST(NULL AS TEXT) AS password_hash"
            )
        };
        let known: SignInState = sqlx::query_as(&row("disabled")).fetch_one(&mut conn).await.expect("decodes");
        assert_eq!(known.status, UserStatus::Disabled);
        let err =
            sqlx::query_as::<_, SignInState>(&row("frozen")).fetch_one(&mut conn).await.expect_err("not a status");
        assert!(matches!(err, sqlx::Error::ColumnDecode { .. }), "{err}");
        assert!(err.to_string().contains("\"frozen\" is not a known user status"), "{err}");
    }
}
