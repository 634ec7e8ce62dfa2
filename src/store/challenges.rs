//! Sign-ins that passed the password and have a step left (a password change; later a second
//! factor). The client holds a random challenge; only its hash is stored.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};
use crate::model::{SessionKind, SignInMethod, SignInStep};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub step: SignInStep,
    pub reason: String,
    pub session_kind: SessionKind,
    #[sqlx(try_from = "crate::model::Flag")]
    pub take_over: bool,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: i64,
    /// The hash of the device token the sign-in presented (R30).
    pub device_hash: Option<String>,
    /// How the sign-in proved who it is.
    pub method: SignInMethod,
}

pub struct NewChallenge<'a> {
    pub token_hash: &'a str,
    pub account: AccountId,
    pub user: UserId,
    pub step: SignInStep,
    pub reason: &'a str,
    pub session_kind: SessionKind,
    pub take_over: bool,
    pub address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
    pub method: SignInMethod,
}

pub async fn insert(conn: &mut Conn, c: &NewChallenge<'_>) -> Result<i64, sqlx::Error> {
    // One pending challenge per user: a new sign-in replaces an older one.
    sqlx::query("DELETE FROM sign_in_challenges WHERE user_id = $1 OR expires_at < $2")
        .bind(c.user.0)
        .bind(c.now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sign_in_challenges (token_hash, account_id, user_id, step, reason, session_kind, take_over, \
         address, user_agent, created_at, expires_at, method) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         RETURNING id",
    )
    .bind(c.token_hash)
    .bind(c.account.0)
    .bind(c.user.0)
    .bind(c.step.as_str())
    .bind(c.reason)
    .bind(c.session_kind.as_str())
    .bind(c.take_over)
    .bind(c.address)
    .bind(c.user_agent)
    .bind(c.now)
    .bind(c.expires_at)
    .bind(c.method.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// Takes a live challenge: found, unexpired, and deleted in the same statement so that it
/// serves once even when two requests race.
pub async fn take(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<ChallengeRecord>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sign_in_challenges WHERE token_hash = $1 AND expires_at > $2 \
         RETURNING id, account_id, user_id, step, reason, session_kind, take_over, address, user_agent, expires_at, device_hash, method",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// Looks at a live challenge without using it up (a refused new password keeps it usable).
pub async fn peek(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<ChallengeRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, user_id, step, reason, session_kind, take_over, address, user_agent, expires_at, device_hash, method \
         FROM sign_in_challenges WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn delete_for_user(conn: &mut Conn, user: UserId) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sign_in_challenges WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
