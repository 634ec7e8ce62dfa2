//! Sign-in sessions, found by the SHA-256 hash of their token (the token itself is never stored).

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use crate::clock::Timestamp;
use crate::ids::{AccountId, SessionId, UserId};
use crate::model::SessionKind;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: SessionId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub kind: SessionKind,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, as set at sign-in (the account's lifetime may since have been lowered).
    pub expires_at: Timestamp,
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// A session as listed, with who it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub session: SessionRecord,
    pub login: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub console_idle_minutes: Option<i64>,
    pub phone_idle_minutes: Option<i64>,
}

pub struct NewSession<'a> {
    pub account: AccountId,
    pub user: UserId,
    pub token_hash: &'a str,
    pub kind: SessionKind,
    pub now: i64,
    pub expires_at: i64,
    pub address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The idle limits that decide whether a session is live (R34): the account's defaults, which
/// each user's own overrides replace.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub now: i64,
    pub console_idle_ms: i64,
    pub phone_idle_ms: i64,
    /// The account's absolute lifetime now (it may have been lowered since sign-in).
    pub lifetime_ms: i64,
}

const COLUMNS: &str =
    "s.id, s.account_id, s.user_id, s.kind, s.created_at, s.last_seen_at, s.expires_at, s.address, s.user_agent";

/// Appends "this session is live" for sessions `s` of users `u`. API sessions have no idle limit.
fn push_live(sql: &mut Sql, live: &Liveness) {
    sql.push(" s.expires_at > ").bind(live.now);
    sql.push(" AND s.created_at > ").bind(live.now - live.lifetime_ms);
    sql.push(" AND (s.kind = 'api' OR (s.kind = 'console' AND s.last_seen_at > ").bind(live.now);
    sql.push(" - COALESCE(u.console_idle_minutes * 60000, ").bind(live.console_idle_ms);
    sql.push(")) OR (s.kind = 'phone' AND s.last_seen_at > ").bind(live.now);
    sql.push(" - COALESCE(u.phone_idle_minutes * 60000, ").bind(live.phone_idle_ms);
    sql.push(")))");
}

pub async fn insert(conn: &mut Conn, s: &NewSession<'_>) -> Result<SessionId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO sessions (account_id, user_id, token_hash, kind, created_at, last_seen_at, expires_at, address, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
    )
    .bind(s.account.0)
    .bind(s.user.0)
    .bind(s.token_hash)
    .bind(s.kind.as_str())
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.address)
    .bind(s.user_agent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(SessionId(row.try_get(0)?))
}

/// A session whose token hash is known and whose absolute lifetime has not run out (idle
/// limits are the caller's to apply: they depend on the account and user).
pub async fn find(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<SessionRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM sessions s WHERE s.token_hash = $1 AND s.expires_at > $2"))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Whose sessions the reader sees (D8).
    pub seen: super::grants::Seen,
    pub user: Option<UserId>,
    pub kinds: Vec<String>,
    /// Keyset: sessions with a smaller id (the list is newest first).
    pub before: Option<i64>,
}

/// Live sessions of an account, newest first.
pub async fn list(
    conn: &mut Conn,
    account: AccountId,
    filter: &SessionFilter,
    live: &Liveness,
    limit: i64,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {COLUMNS}, u.login, u.first_name, u.last_name, u.console_idle_minutes, u.phone_idle_minutes FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.account_id = "
    ));
    sql.bind(account.0).append(&filter.seen.users_sql()).push(" AND");
    push_live(&mut sql, live);
    if let Some(user) = filter.user {
        sql.push(" AND s.user_id = ").bind(user.0);
    }
    if !filter.kinds.is_empty() {
        sql.push(" AND s.kind IN (").bind_list(&filter.kinds).push(")");
    }
    if let Some(before) = filter.before {
        sql.push(" AND s.id < ").bind(before);
    }
    sql.push(" ORDER BY s.id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

/// How many live sessions a user has, other than `except` (R33).
pub async fn count_live_for_user(conn: &mut Conn, user: UserId, live: &Liveness) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.user_id = ");
    sql.bind(user.0).push(" AND");
    push_live(&mut sql, live);
    sql.query().fetch_one(&mut *conn).await?.try_get(0)
}

/// Records when sessions were last used, for many at once (flushed from memory).
pub async fn touch_many(conn: &mut Conn, ids: &[SessionId], now: i64) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        // Integer ids are safe as literals, and one statement per 500 beats 500 statements.
        let list = chunk.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(",");
        sqlx::query(&format!("UPDATE sessions SET last_seen_at = $1 WHERE id IN ({list}) AND last_seen_at < $1"))
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Deletes one session of the account (and of `only_of`, when given); returns its user when
/// it existed.
pub async fn delete(
    conn: &mut Conn,
    account: AccountId,
    id: SessionId,
    only_of: Option<UserId>,
) -> Result<Option<UserId>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM sessions WHERE account_id = $1 AND id = $2 AND ($3 = 0 OR user_id = $3) RETURNING user_id",
    )
    .bind(account.0)
    .bind(id.0)
    .bind(only_of.map_or(0, |u| u.0))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get(0).map(UserId)).transpose()
}

/// Ends every session of a user except `keep`.
pub async fn delete_for_user(conn: &mut Conn, user: UserId, keep: Option<SessionId>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user.0)
        .bind(keep.map_or(0, |k| k.0))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Ends every session in the account whose user is not active (after a mass deactivation).
/// Driven from the sessions (few) rather than from the account's disabled users (many).
pub async fn delete_of_inactive_users(conn: &mut Conn, account: AccountId) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM sessions WHERE account_id = $1 AND EXISTS \
         (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.status <> 'active')",
    )
    .bind(account.0)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Ends every session in the account (it was disabled: R17).
pub async fn delete_of_account(conn: &mut Conn, account: AccountId) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account.0)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Forgets sessions whose absolute lifetime is over, and those idle for longer than any
/// limit allows.
pub async fn delete_expired(conn: &mut Conn, now: i64, max_idle_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR (kind <> 'api' AND last_seen_at < $2)")
        .bind(now)
        .bind(now - max_idle_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
