//! Sign-in sessions, found by the SHA-256 hash of their token (the token itself is never stored).

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, SessionId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: SessionId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub kind: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewSession<'a> {
    pub account: AccountId,
    pub user: UserId,
    pub token_hash: &'a str,
    pub kind: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut Conn, s: &NewSession<'_>) -> Result<SessionId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO sessions (account_id, user_id, token_hash, kind, created_at, last_seen_at, expires_at, address, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
    )
    .bind(s.account.0)
    .bind(s.user.0)
    .bind(s.token_hash)
    .bind(s.kind)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.address)
    .bind(s.user_agent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(SessionId(row.try_get(0)?))
}

/// A live session: its token hash is known and it has not expired.
pub async fn find_live(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<SessionRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, user_id, kind, created_at, last_seen_at, expires_at, address, user_agent \
         FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn touch(conn: &mut Conn, id: SessionId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2").bind(now).bind(id.0).execute(&mut *conn).await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id: SessionId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut Conn, user: UserId) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(&mut *conn).await?.rows_affected())
}
