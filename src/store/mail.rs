//! The mail outbox. A worker claims due messages atomically (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`, so two instances never take the same row; SQLite: one writer at a time), sends
//! them, and records the outcome. A claim has an end: a crashed instance's messages are taken
//! up again by another once it passes.

use sqlx::Row;

use super::sql::Sql;
use super::{Conn, Engine};
use crate::ids::AccountId;

pub struct NewMail<'a> {
    pub account: AccountId,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub kind: &'a str,
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, m: &NewMail<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (account_id, recipient, subject, body, kind, state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6) RETURNING id",
    )
    .bind(m.account.0)
    .bind(m.to)
    .bind(m.subject)
    .bind(m.body)
    .bind(m.kind)
    .bind(m.now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// A message a worker holds a claim on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub account_id: AccountId,
    pub recipient: String,
    pub subject: String,
    pub body: Option<String>,
    pub kind: String,
    pub attempts: i64,
}

/// Claims up to `limit` due messages for `worker` until `until`: queued ones whose time has
/// come, and ones whose previous claim ran out (its instance stopped mid-send). Each claim
/// counts as an attempt.
pub async fn claim(
    conn: &mut Conn,
    worker: &str,
    now: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match Engine::of(conn) {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    sqlx::query_as(&format!(
        "UPDATE mail_outbox SET state = 'sending', claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM mail_outbox WHERE (state = 'queued' AND next_attempt_at <= $3) \
         OR (state = 'sending' AND claimed_until < $3) ORDER BY id LIMIT $4{lock}) \
         RETURNING id, account_id, recipient, subject, body, kind, attempts"
    ))
    .bind(worker)
    .bind(until)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// Sent: the body (codes, links) goes.
pub async fn mark_sent(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    now: i64,
    note: Option<&str>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_outbox SET state = 'sent', body = NULL, sent_at = $1, claimed_by = NULL, claimed_until = NULL, \
         last_error = $2 WHERE id = $3 AND claimed_by = $4 AND state = 'sending'",
    )
    .bind(now)
    .bind(note)
    .bind(id)
    .bind(worker)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Not sent this time: back in the queue until `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    next_attempt_at: i64,
    error: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, last_error = $2, claimed_by = NULL, claimed_until = NULL \
         WHERE id = $3 AND claimed_by = $4 AND state = 'sending'",
    )
    .bind(next_attempt_at)
    .bind(error)
    .bind(id)
    .bind(worker)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Given up. The body stays until `erase_failed_bodies` so that an admin may retry it.
pub async fn mark_failed(conn: &mut Conn, id: i64, worker: &str, now: i64, error: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_outbox SET state = 'failed', failed_at = $1, last_error = $2, claimed_by = NULL, claimed_until = NULL \
         WHERE id = $3 AND claimed_by = $4 AND state = 'sending'",
    )
    .bind(now)
    .bind(error)
    .bind(id)
    .bind(worker)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Puts back what `worker` holds (it is stopping).
pub async fn release_claims(conn: &mut Conn, worker: &str, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL \
         WHERE claimed_by = $2 AND state = 'sending'",
    )
    .bind(now)
    .bind(worker)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Failed messages older than `before` are failed for good: their bodies go.
pub async fn erase_failed_bodies(conn: &mut Conn, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE mail_outbox SET body = NULL WHERE state = 'failed' AND failed_at < $1 AND body IS NOT NULL")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// When the next queued message is due, if any.
pub async fn next_due(conn: &mut Conn) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = 'queued'")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// What the outbox view shows: never the body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailRecord {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub kind: String,
    pub state: crate::model::mail::MailState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
    #[sqlx(try_from = "crate::model::Flag")]
    pub has_body: bool,
}

const SELECT: &str = "SELECT id, recipient, subject, kind, state, attempts, next_attempt_at, last_error, created_at, sent_at, \
    failed_at, (body IS NOT NULL) AS has_body FROM mail_outbox";

/// The account's messages, newest first, before the id `before`.
pub async fn list(
    conn: &mut Conn,
    account: AccountId,
    states: &[String],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MailRecord>, sqlx::Error> {
    let mut sql = Sql::new(format!("{SELECT} WHERE account_id = "));
    sql.bind(account.0);
    if !states.is_empty() {
        sql.push(" AND state IN (").bind_list(states).push(")");
    }
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

pub async fn get(conn: &mut Conn, account: AccountId, id: i64) -> Result<Option<MailRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE account_id = $1 AND id = $2"))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// A failed message (with its body still there) goes back to the queue, due now.
pub async fn requeue_failed(conn: &mut Conn, account: AccountId, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE mail_outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, failed_at = NULL \
         WHERE account_id = $2 AND id = $3 AND state = 'failed' AND body IS NOT NULL",
    )
    .bind(now)
    .bind(account.0)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
