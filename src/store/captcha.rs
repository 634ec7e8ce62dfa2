//! CAPTCHA challenges shown at sign-in (R31), and the per-user flag that asks for them.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};

pub struct NewCaptcha<'a> {
    pub token_hash: &'a str,
    pub account: AccountId,
    /// The accepted answers' hashes, separated by spaces.
    pub answer_hashes: &'a str,
    pub image: &'a [u8],
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert(conn: &mut Conn, c: &NewCaptcha<'_>) -> Result<(), sqlx::Error> {
    // Expired challenges go as new ones come, so the table holds about ten minutes of sign-ins.
    sqlx::query("DELETE FROM captcha_challenges WHERE expires_at < $1").bind(c.now).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO captcha_challenges (token_hash, account_id, answer_hashes, image, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.token_hash)
    .bind(c.account.0)
    .bind(c.answer_hashes)
    .bind(c.image.to_vec())
    .bind(c.now)
    .bind(c.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes a live challenge of the account: found, unexpired, and deleted in the same statement,
/// so that it is answered once even when two requests race. Returns its answers' hashes.
pub async fn take(
    conn: &mut Conn,
    token_hash: &str,
    account: AccountId,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM captcha_challenges WHERE token_hash = $1 AND account_id = $2 AND expires_at > $3 RETURNING answer_hashes",
    )
    .bind(token_hash)
    .bind(account.0)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The picture of a live challenge.
pub async fn image(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row = sqlx::query("SELECT image FROM captcha_challenges WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// R31: the user's own "CAPTCHA at every sign-in". Part of their security settings, whose
/// version the caller bumps.
pub async fn set_required(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    required: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET captcha_required = $1 WHERE account_id = $2 AND id = $3")
        .bind(required)
        .bind(account.0)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
