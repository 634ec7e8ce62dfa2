//! Failed sign-ins, counted in the database so that every instance sees the same counts:
//! per user (leading to a lockout) and per client address (leading to a 429).

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};

/// Counts one failure against a user within a window that starts at their first failure;
/// returns the count in the current window, or `None` when the user is locked already (or no
/// longer exists). The
/// lock is checked in the same statement, so guesses that were in flight when another one
/// locked the user neither count nor lock again.
pub async fn count_user_failure(
    conn: &mut Conn,
    user: UserId,
    now: i64,
    window_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "UPDATE users SET \
           failed_sign_ins = CASE WHEN failures_since IS NULL OR failures_since < $1 THEN 1 ELSE failed_sign_ins + 1 END, \
           failures_since = CASE WHEN failures_since IS NULL OR failures_since < $1 THEN $2 ELSE failures_since END \
         WHERE id = $3 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_sign_ins",
    )
    .bind(now - window_ms)
    .bind(now)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| row.try_get(0))
    .transpose()
}

/// Locks a user's sign-in until `until`, starting a fresh count for afterwards.
pub async fn lock_user(conn: &mut Conn, user: UserId, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET locked_until = $1, failed_sign_ins = 0, failures_since = NULL WHERE id = $2")
        .bind(until)
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Clears the count and any lock (a successful sign-in, or an admin's unlock). Returns
/// whether the user was locked.
pub async fn clear_user(conn: &mut Conn, account: AccountId, user: UserId, now: i64) -> Result<bool, sqlx::Error> {
    let was_locked = sqlx::query("SELECT locked_until FROM users WHERE account_id = $1 AND id = $2")
        .bind(account.0)
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?
        .and_then(|r| r.try_get::<Option<i64>, _>(0).ok().flatten())
        .is_some_and(|until| until > now);
    sqlx::query(
        "UPDATE users SET failed_sign_ins = 0, failures_since = NULL, locked_until = NULL \
         WHERE account_id = $1 AND id = $2 AND (failed_sign_ins > 0 OR locked_until IS NOT NULL)",
    )
    .bind(account.0)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    Ok(was_locked)
}

/// Clears the count of a user who just completed a sign-in (D5: only a session issued clears
/// it, not a right password alone), and a lock that is over. A lock still running is left as it
/// is: the sign-in checked it, and this guards against a lock that came since.
pub async fn clear_after_sign_in(conn: &mut Conn, user: UserId, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET failed_sign_ins = 0, failures_since = NULL, locked_until = NULL \
         WHERE id = $1 AND (failed_sign_ins > 0 OR locked_until IS NOT NULL) AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(user.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Until when the address is refused, if it is.
pub async fn address_blocked_until(conn: &mut Conn, address: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT blocked_until FROM address_failures WHERE address = $1")
        .bind(address)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(|r| r.try_get::<Option<i64>, _>(0).ok().flatten()).filter(|&until| until > now))
}

/// Failures from an address within the window (what the CAPTCHA policy looks at).
pub async fn address_failures(conn: &mut Conn, address: &str, now: i64, window_ms: i64) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT failures FROM address_failures WHERE address = $1 AND since >= $2")
        .bind(address)
        .bind(now - window_ms)
        .fetch_optional(&mut *conn)
        .await?;
    row.map_or(Ok(0), |r| r.try_get(0))
}

/// Counts one failure from an address; returns the count in the current window.
pub async fn count_address_failure(
    conn: &mut Conn,
    address: &str,
    now: i64,
    window_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO address_failures (address, failures, since, blocked_until) VALUES ($1, 1, $2, NULL) \
         ON CONFLICT (address) DO UPDATE SET \
           failures = CASE WHEN address_failures.since < $3 THEN 1 ELSE address_failures.failures + 1 END, \
           since = CASE WHEN address_failures.since < $3 THEN $2 ELSE address_failures.since END \
         RETURNING failures",
    )
    .bind(address)
    .bind(now)
    .bind(now - window_ms)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

pub async fn block_address(conn: &mut Conn, address: &str, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE address_failures SET blocked_until = $1, failures = 0 WHERE address = $2")
        .bind(until)
        .bind(address)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets counts whose window and block are over.
pub async fn prune(conn: &mut Conn, older_than: i64, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM address_failures WHERE since < $1 AND (blocked_until IS NULL OR blocked_until < $2)")
        .bind(older_than)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
