//! Accounts (tenants).

use sqlx::Row;

use super::Conn;
use crate::ids::AccountId;
use crate::model::AccountRecord;
use crate::model::settings::SecuritySettings;

const COLUMNS: &str = "id, slug, name, enabled, seat_limit, created_at, updated_at, version, security";

/// Replaces the security settings if the account is still at `expected_version`.
pub async fn set_security(
    conn: &mut Conn,
    id: AccountId,
    settings: &SecuritySettings,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE accounts SET security = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
    )
    .bind(settings.to_json())
    .bind(now)
    .bind(id.0)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert(
    conn: &mut Conn,
    slug: &str,
    name: &str,
    seat_limit: Option<i64>,
    now: i64,
) -> Result<AccountId, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO accounts (slug, name, enabled, seat_limit, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $5, 1) RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .bind(true)
    .bind(seat_limit)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(AccountId(row.try_get(0)?))
}

pub async fn by_slug(conn: &mut Conn, slug: &str) -> Result<Option<AccountRecord>, sqlx::Error> {
    if !super::may_be_stored(slug) {
        return Ok(None);
    }
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await
}

pub async fn by_id(conn: &mut Conn, id: AccountId) -> Result<Option<AccountRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1")).bind(id.0).fetch_optional(&mut *conn).await
}

/// Up to `limit` accounts in slug order, after the slug `after`.
pub async fn list(conn: &mut Conn, after: Option<&str>, limit: i64) -> Result<Vec<AccountRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE ($1 IS NULL OR slug > $1) ORDER BY slug LIMIT $2"))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
}

pub async fn count(conn: &mut Conn) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM accounts").fetch_one(&mut *conn).await?.try_get(0)
}

pub async fn update(
    conn: &mut Conn,
    id: AccountId,
    name: &str,
    enabled: bool,
    seat_limit: Option<i64>,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE accounts SET name = $1, enabled = $2, seat_limit = $3, updated_at = $4, version = version + 1 \
         WHERE id = $5 AND version = $6",
    )
    .bind(name)
    .bind(enabled)
    .bind(seat_limit)
    .bind(now)
    .bind(id.0)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
