//! Accounts (tenants).

use sqlx::Row;

use super::Conn;
use crate::ids::AccountId;
use crate::model::AccountRecord;
use crate::model::settings::SecuritySettings;

const COLUMNS: &str = "id, slug, name, enabled, seat_limit, seats_self_service, created_at, updated_at, version, security, time_zone, \
     date_format, time_format, COALESCE(sip_realm, slug) AS sip_realm, password_sign_in";

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
        "INSERT INTO accounts (slug, name, enabled, seat_limit, created_at, updated_at, version, sip_realm) \
         VALUES ($1, $2, $3, $4, $5, $5, 1, $1) RETURNING id",
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
    to: &AccountRecord,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE accounts SET name = $1, enabled = $2, seat_limit = $3, seats_self_service = $4, time_zone = $5, \
         date_format = $6, time_format = $7, updated_at = $8, version = version + 1, sip_realm = $11, \
         password_sign_in = $12 \
         WHERE id = $9 AND version = $10",
    )
    .bind(&to.name)
    .bind(to.enabled)
    .bind(to.seat_limit)
    .bind(to.seats_self_service)
    .bind(&to.time_zone)
    .bind(&to.date_format)
    .bind(&to.time_format)
    .bind(now)
    .bind(id.0)
    .bind(expected_version)
    .bind(&to.sip_realm)
    .bind(to.password_sign_in)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account whose SIP realm is `realm` (lower-cased).
pub async fn by_sip_realm(conn: &mut Conn, realm: &str) -> Result<Option<AccountRecord>, sqlx::Error> {
    if !super::may_be_stored(realm) {
        return Ok(None);
    }
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE sip_realm = $1"))
        .bind(realm)
        .fetch_optional(&mut *conn)
        .await
}

/// Takes the account's guard (migration 0010's `account_guards`) until the transaction ends:
/// changes that take a seat or may remove the last admin follow one another per account, and a
/// mass action on a PostgreSQL snapshot that races one of them is refused (40001) rather than
/// count wrong. An UPDATE, not a locking read, for that reason.
pub async fn guard(conn: &mut Conn, id: AccountId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_guards (account_id, changes) VALUES ($1, 1) \
         ON CONFLICT (account_id) DO UPDATE SET changes = account_guards.changes + 1",
    )
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What makes a user occupy a seat (R20), as a condition on `users u`: a member (not an end
/// user) who is active or invited, or deactivated for a time with a date of return — their
/// period in effect has an end — whose seat is kept for them, so that the reactivation never
/// finds the account full.
pub const OCCUPIES_A_SEAT: &str = "(u.is_end_user = FALSE AND (u.status IN ('active', 'invited') OR \
     (u.status = 'disabled' AND EXISTS (SELECT 1 FROM deactivation_periods p WHERE p.user_id = u.id \
     AND p.state = 'in_effect' AND p.ends_at IS NOT NULL))))";

/// How many of the account's users occupy a seat: two counts, each on its index.
pub async fn seats_used(conn: &mut Conn, id: AccountId) -> Result<i64, sqlx::Error> {
    let row: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND u.is_end_user = FALSE \
         AND u.status IN ('active', 'invited')), \
         (SELECT COUNT(*) FROM deactivation_periods p JOIN users u ON u.id = p.user_id WHERE p.account_id = $1 \
         AND p.state = 'in_effect' AND p.ends_at IS NOT NULL AND u.status = 'disabled' AND u.is_end_user = FALSE)",
    )
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.0 + row.1)
}

/// How many of the users matched by `users_where` (a condition on `users u`) do not occupy a
/// seat but would once active: members (not end users) without one.
pub async fn seats_needed(conn: &mut Conn, users_where: &crate::store::sql::Sql) -> Result<i64, sqlx::Error> {
    let mut sql = crate::store::sql::Sql::new(format!(
        "SELECT COUNT(*) FROM users u WHERE u.is_end_user = FALSE AND NOT {OCCUPIES_A_SEAT} AND "
    ));
    sql.append(users_where);
    let row: (i64,) = sql.query_as().fetch_one(&mut *conn).await?;
    Ok(row.0)
}

/// Seats taken per role the holders have directly (a member with several roles counts under
/// each), and how many hold no role: `(role id, role name, count)`, the roleless as id 0.
pub async fn seats_by_role(conn: &mut Conn, id: AccountId) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    let mut rows: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
        "SELECT r.id, r.name, COUNT(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id \
         JOIN roles r ON r.id = ur.role_id WHERE u.account_id = $1 AND {OCCUPIES_A_SEAT} \
         GROUP BY r.id, r.name ORDER BY COUNT(*) DESC, r.name"
    ))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let roleless: (i64,) = sqlx::query_as(&format!(
        "SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND {OCCUPIES_A_SEAT} \
         AND NOT EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id)"
    ))
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    if roleless.0 > 0 {
        rows.push((0, String::new(), roleless.0));
    }
    Ok(rows)
}

/// Up to `limit` of the users who occupy a seat and whom `seen` covers (D8), by login, after
/// the login key `after`: `(id, login, login key, status, back at)`.
pub async fn seat_holders(
    conn: &mut Conn,
    id: AccountId,
    seen: &super::grants::Seen,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(i64, String, String, String, Option<i64>)>, sqlx::Error> {
    let mut sql = crate::store::sql::Sql::new(format!(
        "SELECT u.id, u.login, u.login_key, u.status, u.deactivation_until FROM users u WHERE {OCCUPIES_A_SEAT} \
         AND u.account_id = "
    ));
    sql.bind(id.0).append(&seen.users_sql());
    if let Some(after) = after {
        sql.push(" AND u.login_key > ").bind(after);
    }
    sql.push(" ORDER BY u.login_key LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}
