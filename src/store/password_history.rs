//! Earlier password hashes of a user, so that the last N are not chosen again (R10).

use sqlx::Row;

use super::Conn;
use crate::ids::UserId;

/// The user's most recent hashes, newest first (the current one included).
pub async fn recent(conn: &mut Conn, user: UserId, n: u32) -> Result<Vec<String>, sqlx::Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2")
        .bind(user.0)
        .bind(i64::from(n))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Remembers a new hash and forgets all but the newest `keep`.
pub async fn push(conn: &mut Conn, user: UserId, hash: &str, now: i64, keep: u32) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO password_history (user_id, hash, created_at) VALUES ($1, $2, $3)")
        .bind(user.0)
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(user.0)
    .bind(i64::from(keep.max(1)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
