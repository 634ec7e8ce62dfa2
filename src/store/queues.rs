//! Queues, their members and time groups (R16).

use sqlx::Row;

use super::Conn;
use super::grants::Seen;
use super::sql::Sql;
use crate::ids::{AccountId, QueueId, TimeGroupId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRecord {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub extension: Option<String>,
    pub member_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// Moves with every change to the queue's members.
    pub members_version: i64,
}

const QUEUE: &str = "SELECT q.id, q.name, q.name_key, q.description, q.extension, \
     (SELECT COUNT(*) FROM queue_members m WHERE m.queue_id = q.id) AS member_count, \
     q.created_at, q.updated_at, q.version, q.members_version FROM queues q";

/// Up to `limit` queues in name order after the name key `after`, matching `search` (lower-cased)
/// in the name or number when given.
pub async fn page(
    conn: &mut Conn,
    account: AccountId,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<QueueRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!("{QUEUE} WHERE q.account_id = "));
    sql.bind(account.0);
    if let Some(search) = search {
        let like = format!("%{}%", super::sql::escape_like(search));
        sql.push(" AND (q.name_key LIKE ").bind(like.clone()).push(" ESCAPE '\\' OR q.extension LIKE ");
        sql.bind(like).push(" ESCAPE '\\')");
    }
    if let Some(after) = after {
        sql.push(" AND q.name_key > ").bind(after.to_string());
    }
    sql.push(" ORDER BY q.name_key LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

pub async fn get(conn: &mut Conn, account: AccountId, id: QueueId) -> Result<Option<QueueRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{QUEUE} WHERE q.account_id = $1 AND q.id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

pub struct QueueFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub extension: Option<&'a str>,
}

pub async fn insert(
    conn: &mut Conn,
    account: AccountId,
    f: &QueueFields<'_>,
    now: i64,
) -> Result<QueueId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO queues (account_id, name, name_key, description, extension, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING id",
    )
    .bind(account.0)
    .bind(f.name)
    .bind(f.name.to_lowercase())
    .bind(f.description)
    .bind(f.extension)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(QueueId(row.try_get(0)?))
}

/// Updates if the version still matches; `false` when it does not.
pub async fn update(
    conn: &mut Conn,
    account: AccountId,
    id: QueueId,
    f: &QueueFields<'_>,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE queues SET name = $1, name_key = $2, description = $3, extension = $4, updated_at = $5, \
         version = version + 1 WHERE account_id = $6 AND id = $7 AND version = $8",
    )
    .bind(f.name)
    .bind(f.name.to_lowercase())
    .bind(f.description)
    .bind(f.extension)
    .bind(now)
    .bind(account.0)
    .bind(id.0)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the queue's member list for this transaction (two changes to the same queue's members
/// queue up here), if its version is still `expected` (when given); `false` when it was not or
/// there is no such queue. The version itself moves by trigger with each membership written
/// (migration 0014), so it changes exactly when the list does, whoever writes it.
pub async fn take_members(conn: &mut Conn, id: QueueId, expected: Option<i64>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE queues SET members_version = members_version WHERE id = $1 AND ($2 IS NULL OR members_version = $2)",
    )
    .bind(id.0)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut Conn, account: AccountId, id: QueueId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM queues WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The queue numbered `extension`, other than `except`: `(id, name)`.
pub async fn with_extension(
    conn: &mut Conn,
    account: AccountId,
    extension: &str,
    except: Option<QueueId>,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name FROM queues WHERE account_id = $1 AND extension = $2 AND id <> $3")
        .bind(account.0)
        .bind(extension)
        .bind(except.map_or(0, |q| q.0))
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// The login of the user whose extension is `extension`.
pub async fn user_with_extension(
    conn: &mut Conn,
    account: AccountId,
    extension: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT login FROM users WHERE account_id = $1 AND extension = $2")
        .bind(account.0)
        .bind(extension)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// One membership, with what the member and the queue show.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRecord {
    pub queue_id: i64,
    pub queue_name: String,
    pub queue_extension: Option<String>,
    pub user_id: i64,
    pub login: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub extension: Option<String>,
    pub status: String,
    pub join_mode: String,
    pub position: i64,
    pub time_group_id: Option<i64>,
    pub time_group_name: Option<String>,
    pub created_at: i64,
}

const MEMBER: &str = "SELECT m.queue_id, q.name AS queue_name, q.extension AS queue_extension, m.user_id, u.login, \
     u.first_name, u.last_name, u.extension, u.status, m.join_mode, m.position, m.time_group_id, \
     t.name AS time_group_name, m.created_at \
     FROM queue_members m JOIN queues q ON q.id = m.queue_id JOIN users u ON u.id = m.user_id \
     LEFT JOIN time_groups t ON t.id = m.time_group_id";

/// A queue's members that `seen` covers, in position order (then login). The account is the
/// queue's, not the users': a condition on the users' account let the planners walk the
/// account's users instead of the queue's memberships (50 ms a read at 100,000 agents).
pub async fn members(
    conn: &mut Conn,
    account: AccountId,
    queue: QueueId,
    seen: &Seen,
) -> Result<Vec<MemberRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!("{MEMBER} WHERE m.queue_id = "));
    sql.bind(queue.0).push(" AND q.account_id = ").bind(account.0);
    sql.append(&seen.users_sql());
    sql.push(" ORDER BY m.position, u.login_key");
    sql.query_as().persistent(true).fetch_all(&mut *conn).await
}

/// A user's memberships, in queue name order.
pub async fn memberships(conn: &mut Conn, user: UserId) -> Result<Vec<MemberRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{MEMBER} WHERE m.user_id = $1 ORDER BY q.name_key"))
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await
}

pub async fn membership(conn: &mut Conn, queue: QueueId, user: UserId) -> Result<Option<MemberRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{MEMBER} WHERE m.queue_id = $1 AND m.user_id = $2"))
        .bind(queue.0)
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await
}

pub struct MemberFields {
    pub join_mode: &'static str,
    pub position: i64,
    pub time_group: Option<TimeGroupId>,
}

/// Adds the membership or changes it; `true` when it was added.
pub async fn put_member(
    conn: &mut Conn,
    queue: QueueId,
    user: UserId,
    f: &MemberFields,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE queue_members SET join_mode = $1, position = $2, time_group_id = $3 WHERE queue_id = $4 AND user_id = $5",
    )
    .bind(f.join_mode)
    .bind(f.position)
    .bind(f.time_group.map(|t| t.0))
    .bind(queue.0)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO queue_members (queue_id, user_id, join_mode, position, time_group_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(queue.0)
    .bind(user.0)
    .bind(f.join_mode)
    .bind(f.position)
    .bind(f.time_group.map(|t| t.0))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn set_position(conn: &mut Conn, queue: QueueId, user: UserId, position: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE queue_members SET position = $1 WHERE queue_id = $2 AND user_id = $3")
        .bind(position)
        .bind(queue.0)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_member(conn: &mut Conn, queue: QueueId, user: UserId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM queue_members WHERE queue_id = $1 AND user_id = $2")
        .bind(queue.0)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The names of the queues `user` is a member of, in name order.
pub async fn queue_names_of(conn: &mut Conn, user: UserId) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("SELECT q.name FROM queue_members m JOIN queues q ON q.id = m.queue_id WHERE m.user_id = $1 ORDER BY q.name_key")
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimeGroupRecord {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub time_zone: String,
    pub days: String,
    pub holidays: String,
    /// Queue memberships that use it.
    pub in_use: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

const TIME_GROUP: &str = "SELECT t.id, t.name, t.name_key, t.description, t.time_zone, t.days, t.holidays, \
     (SELECT COUNT(*) FROM queue_members m WHERE m.time_group_id = t.id) AS in_use, \
     t.created_at, t.updated_at, t.version FROM time_groups t";

pub async fn time_groups_page(
    conn: &mut Conn,
    account: AccountId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<TimeGroupRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{TIME_GROUP} WHERE t.account_id = $1 AND ($2 IS NULL OR t.name_key > $2) ORDER BY t.name_key LIMIT $3"
    ))
    .bind(account.0)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

pub async fn time_group(
    conn: &mut Conn,
    account: AccountId,
    id: TimeGroupId,
) -> Result<Option<TimeGroupRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{TIME_GROUP} WHERE t.account_id = $1 AND t.id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// A time group's rules without counting its uses (33,000 index entries for a time group of
/// a third of 100,000 agents, which cost every read of a queue's members 1–2 ms).
const TIME_GROUP_RULES: &str = "SELECT t.id, t.name, t.name_key, t.description, t.time_zone, t.days, t.holidays, \
     CAST(0 AS BIGINT) AS in_use, t.created_at, t.updated_at, t.version FROM time_groups t";

/// The time groups with these ids in the account (those that exist); `in_use` is not counted.
pub async fn time_groups_by_id(
    conn: &mut Conn,
    account: AccountId,
    ids: &[i64],
) -> Result<Vec<TimeGroupRecord>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(format!("{TIME_GROUP_RULES} WHERE t.account_id = "));
    sql.bind(account.0).push(" AND t.id IN (").bind_list(ids).push(")");
    sql.query_as().fetch_all(&mut *conn).await
}

pub struct TimeGroupFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub time_zone: &'a str,
    pub days: &'a str,
    pub holidays: &'a str,
}

pub async fn insert_time_group(
    conn: &mut Conn,
    account: AccountId,
    f: &TimeGroupFields<'_>,
    now: i64,
) -> Result<TimeGroupId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO time_groups (account_id, name, name_key, description, time_zone, days, holidays, created_at, \
         updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING id",
    )
    .bind(account.0)
    .bind(f.name)
    .bind(f.name.to_lowercase())
    .bind(f.description)
    .bind(f.time_zone)
    .bind(f.days)
    .bind(f.holidays)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(TimeGroupId(row.try_get(0)?))
}

pub async fn update_time_group(
    conn: &mut Conn,
    account: AccountId,
    id: TimeGroupId,
    f: &TimeGroupFields<'_>,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE time_groups SET name = $1, name_key = $2, description = $3, time_zone = $4, days = $5, holidays = $6, \
         updated_at = $7, version = version + 1 WHERE account_id = $8 AND id = $9 AND version = $10",
    )
    .bind(f.name)
    .bind(f.name.to_lowercase())
    .bind(f.description)
    .bind(f.time_zone)
    .bind(f.days)
    .bind(f.holidays)
    .bind(now)
    .bind(account.0)
    .bind(id.0)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_time_group(conn: &mut Conn, account: AccountId, id: TimeGroupId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM time_groups WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The queues whose memberships use time group `id`, with how many each, in name order.
pub async fn queues_using(conn: &mut Conn, id: TimeGroupId) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query(
        "SELECT q.name, COUNT(*) FROM queue_members m JOIN queues q ON q.id = m.queue_id \
         WHERE m.time_group_id = $1 GROUP BY q.name, q.name_key ORDER BY q.name_key",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}
