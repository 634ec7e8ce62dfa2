//! The activity log: one row per audited change or sign-in (R36).

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use crate::ids::{AccountId, ActivityId, UserId};

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub account: AccountId,
    pub at: i64,
    pub actor: Option<UserId>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub target_label: &'a str,
    /// JSON text: `{"field": {"from": …, "to": …}}` or other details. Never secrets.
    pub changes: Option<String>,
    pub address: Option<&'a str>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: ActivityId,
    pub account_id: AccountId,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub target_label: String,
    pub changes: Option<String>,
    pub address: Option<String>,
}

pub async fn insert(conn: &mut Conn, e: &NewEvent<'_>) -> Result<ActivityId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO activity (account_id, at, actor_id, actor_label, action, target_type, target_id, target_label, changes, address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.account.0)
    .bind(e.at)
    .bind(e.actor.map(|a| a.0))
    .bind(e.actor_label)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.target_label)
    .bind(e.changes.as_deref())
    .bind(e.address)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ActivityId(row.try_get(0)?))
}

/// One event per user matched by `users_where` (a condition on `users u`), all in one statement:
/// mass actions record each user they touch without a round trip per user.
pub async fn insert_per_user(conn: &mut Conn, template: &NewEvent<'_>, users_where: &Sql) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO activity (account_id, at, actor_id, actor_label, action, target_type, target_id, target_label, changes, address) \
         SELECT u.account_id, ",
    );
    sql.bind(template.at).push(", ");
    match template.actor {
        Some(a) => sql.bind(a.0),
        None => sql.push("NULL"),
    };
    sql.push(", ").bind(template.actor_label).push(", ").bind(template.action).push(", 'user', u.id, u.login, ");
    match &template.changes {
        Some(c) => sql.bind(c.clone()),
        None => sql.push("NULL"),
    };
    sql.push(", ");
    match template.address {
        Some(a) => sql.bind(a),
        None => sql.push("NULL"),
    };
    sql.push(" FROM users u WHERE ").append(users_where);
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// A scoped reader (D8) sees only events about the users they see.
    pub seen: super::grants::Seen,
    pub target_user: Option<UserId>,
    pub actor: Option<UserId>,
    pub actions: Vec<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub q: Option<String>,
}

/// Newest first, before the event id `before` (keyset pagination).
pub async fn list(
    conn: &mut Conn,
    account: AccountId,
    f: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT id, account_id, at, actor_id, actor_label, action, target_type, target_id, target_label, changes, address \
         FROM activity WHERE account_id = ",
    );
    sql.bind(account.0);
    if f.seen != super::grants::Seen::All {
        sql.push(" AND target_type = 'user' AND target_id IN (SELECT u.id FROM users u WHERE u.account_id = ")
            .bind(account.0)
            .append(&f.seen.users_sql())
            .push(")");
    }
    if let Some(user) = f.target_user {
        sql.push(" AND target_type = 'user' AND target_id = ").bind(user.0);
    }
    if let Some(actor) = f.actor {
        sql.push(" AND actor_id = ").bind(actor.0);
    }
    if !f.actions.is_empty() {
        sql.push(" AND action IN (").bind_list(&f.actions).push(")");
    }
    if let Some(from) = f.from {
        sql.push(" AND at >= ").bind(from);
    }
    if let Some(to) = f.to {
        sql.push(" AND at < ").bind(to);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", super::sql::escape_like(&q.to_lowercase()));
        sql.push(" AND (LOWER(target_label) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(actor_label) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(COALESCE(changes, '')) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

pub async fn max_id(conn: &mut Conn) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COALESCE(MAX(id), 0) FROM activity").fetch_one(&mut *conn).await?.try_get(0)
}

/// Events after `after`, oldest first: id, action, target type and id (for cache invalidation).
pub async fn since(
    conn: &mut Conn,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String, String, Option<i64>)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, action, target_type, target_id FROM activity WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}

/// The events with these ids that exist now (gaps the watcher is waiting for).
pub async fn with_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String, String, Option<i64>)>, sqlx::Error> {
    let list = ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(&format!("SELECT id, action, target_type, target_id FROM activity WHERE id IN ({list})"))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
}
