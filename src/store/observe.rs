//! What the operators' views read from the database: the gauges `/metrics` shows (live sessions,
//! the mail queue) and whether every embedded migration has been applied (`/health/ready`).
//! Each is one cheap aggregate, so that a scrape or a probe costs the database little.

use sqlx::Row;

use super::Conn;

/// Sessions that have not reached their absolute end, by kind (`console`, `api`, `phone`).
/// Idle timeouts are an account setting checked at use; a session idle past its limit still
/// counts here until the upkeep loop removes it.
pub async fn live_sessions(conn: &mut Conn, now: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT kind, COUNT(*) FROM sessions WHERE expires_at > $1 GROUP BY kind")
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The mail still to send (queued or being sent) and when the oldest of it was queued.
pub async fn outbox_depth(conn: &mut Conn) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM mail_outbox WHERE state IN ('queued', 'sending')")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The versions of the migrations recorded as applied successfully.
pub async fn applied_migrations(conn: &mut Conn) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}
