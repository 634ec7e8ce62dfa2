//! Long-lived API tokens for PBX components. Only the token's SHA-256 hash is stored.

use sqlx::Row;

use super::Conn;
use crate::clock::Timestamp;
use crate::ids::{AccountId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub name: String,
    /// Comma-separated permission names.
    pub permissions: String,
    pub created_at: i64,
    /// `None`: the token never expires.
    pub expires_at: Option<Timestamp>,
    /// `None`: never used.
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<i64>,
    pub creator_login: String,
    /// The PBX directory's lookups with this token, from every instance (written in batches).
    pub directory_lookups: i64,
    pub directory_not_allowed: i64,
    pub directory_unknown: i64,
    pub directory_last_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT t.id, t.account_id, t.user_id, t.name, t.permissions, t.created_at, t.expires_at, \
    t.last_used_at, t.revoked_at, u.login AS creator_login, t.directory_lookups, t.directory_not_allowed, \
    t.directory_unknown, t.directory_last_at FROM api_tokens t JOIN users u ON u.id = t.user_id";

pub struct NewApiToken<'a> {
    pub account: AccountId,
    pub user: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub permissions: &'a str,
    pub now: i64,
    pub expires_at: Option<i64>,
}

pub async fn insert(conn: &mut Conn, t: &NewApiToken<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (account_id, user_id, name, token_hash, permissions, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.account.0)
    .bind(t.user.0)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.permissions)
    .bind(t.now)
    .bind(t.expires_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

pub async fn get(conn: &mut Conn, account: AccountId, id: i64) -> Result<Option<ApiTokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE t.account_id = $1 AND t.id = $2"))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// A usable token: known, not revoked, not expired.
pub async fn find_usable(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<ApiTokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// The account's tokens, newest first; revoked ones only when asked.
/// The account's tokens whose makers `seen` covers (D8).
pub async fn list(
    conn: &mut Conn,
    account: AccountId,
    seen: &super::grants::Seen,
    include_revoked: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ApiTokenRecord>, sqlx::Error> {
    let mut sql = super::sql::Sql::new(format!("{SELECT} WHERE t.account_id = "));
    sql.bind(account.0).append(&seen.users_sql());
    if !include_revoked {
        sql.push(" AND t.revoked_at IS NULL");
    }
    if let Some(before) = before {
        sql.push(" AND t.id < ").bind(before);
    }
    sql.push(" ORDER BY t.id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

pub async fn revoke(conn: &mut Conn, account: AccountId, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(account.0)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

pub async fn mark_used(conn: &mut Conn, ids: &[i64], now: i64) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let list = chunk.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
        sqlx::query(&format!("UPDATE api_tokens SET last_used_at = $1 WHERE id IN ({list})"))
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
