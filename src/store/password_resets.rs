//! Forgot-password links. Only the token's SHA-256 is stored; a link serves once.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};
use crate::model::password_reset::ResetLinkEnd;

/// The user a forgot-password request names, by login or email (both lowercased keys).
pub async fn find_user(conn: &mut Conn, account: AccountId, key: &str) -> Result<Option<UserId>, sqlx::Error> {
    if !super::may_be_stored(key) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT id FROM users WHERE account_id = $1 AND (login_key = $2 OR email_key = $2) ORDER BY id LIMIT 1",
    )
    .bind(account.0)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get(0).map(UserId)).transpose()
}

/// How many links were made for the user since `since` (the throttle).
pub async fn count_since(conn: &mut Conn, user: UserId, since: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at >= $2")
        .bind(user.0)
        .bind(since)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// Ends the user's live links (`replaced` by a newer one, `password_changed`, …) and forgets
/// links older than a day.
pub async fn end_for_user(conn: &mut Conn, user: UserId, now: i64, reason: ResetLinkEnd) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_resets SET ended_at = $1, end_reason = $2 WHERE user_id = $3 AND ended_at IS NULL")
        .bind(now)
        .bind(reason.as_str())
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND created_at < $2")
        .bind(user.0)
        .bind(now - 24 * 3_600_000)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    account: AccountId,
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO password_resets (token_hash, account_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash)
        .bind(account.0)
        .bind(user.0)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResetRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<ResetLinkEnd>,
}

/// A link by its token's hash, whatever its state (so a refusal can say why).
pub async fn find(conn: &mut Conn, token_hash: &str) -> Result<Option<ResetRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, user_id, expires_at, ended_at, end_reason FROM password_resets WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await
}

/// Uses a live link up: of two racing requests, one gets it.
pub async fn take(conn: &mut Conn, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE password_resets SET ended_at = $1, end_reason = 'used' WHERE id = $2 AND ended_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}
