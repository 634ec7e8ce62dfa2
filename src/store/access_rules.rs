//! Access rules (R35): the account's (`user_id` NULL) and each user's, in order, and the
//! user's mode (`users.access_mode`). A list is always replaced whole.

use sqlx::Row;

use super::Conn;
use crate::ids::{AccountId, UserId};

/// A stored rule, its value in canonical text.
#[derive(Debug, Clone)]
pub struct RuleRow {
    /// `None` for the account's own rules.
    pub user_id: Option<UserId>,
    pub action: String,
    pub value: String,
    pub description: String,
}

pub struct NewRule<'a> {
    pub action: &'a str,
    pub kind: &'a str,
    pub value: String,
    pub description: &'a str,
}

fn row(r: &sqlx::any::AnyRow) -> Result<RuleRow, sqlx::Error> {
    Ok(RuleRow {
        user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        action: r.try_get("action")?,
        value: r.try_get("value")?,
        description: r.try_get("description")?,
    })
}

/// The account's rules (`user` None) or one user's own, in order.
pub async fn list(conn: &mut Conn, account: AccountId, user: Option<UserId>) -> Result<Vec<RuleRow>, sqlx::Error> {
    let rows = match user {
        None => {
            sqlx::query(
                "SELECT user_id, action, value, description FROM access_rules \
                 WHERE account_id = $1 AND user_id IS NULL ORDER BY position",
            )
            .bind(account.0)
            .fetch_all(&mut *conn)
            .await?
        }
        Some(user) => {
            sqlx::query(
                "SELECT user_id, action, value, description FROM access_rules \
                 WHERE account_id = $1 AND user_id = $2 ORDER BY position",
            )
            .bind(account.0)
            .bind(user.0)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(row).collect()
}

/// A user's mode and every rule that may apply to them (the account's and their own), in
/// one statement: the session check runs it on each cache miss. `None` if no such user.
pub async fn for_user(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
) -> Result<Option<(String, Vec<RuleRow>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.access_mode, r.id AS rule_id, r.user_id, r.action, r.value, r.description \
         FROM users u LEFT JOIN access_rules r ON r.account_id = u.account_id AND (r.user_id IS NULL OR r.user_id = u.id) \
         WHERE u.account_id = $1 AND u.id = $2 ORDER BY r.position",
    )
    .bind(account.0)
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let mode: String = first.try_get("access_mode")?;
    let mut rules = Vec::new();
    for r in &rows {
        if r.try_get::<Option<i64>, _>("rule_id")?.is_some() {
            rules.push(row(r)?);
        }
    }
    Ok(Some((mode, rules)))
}

/// Replaces the account's rules (`user` None) or a user's.
pub async fn replace(
    conn: &mut Conn,
    account: AccountId,
    user: Option<UserId>,
    rules: &[NewRule<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    match user {
        None => {
            sqlx::query("DELETE FROM access_rules WHERE account_id = $1 AND user_id IS NULL")
                .bind(account.0)
                .execute(&mut *conn)
                .await?
        }
        Some(user) => {
            sqlx::query("DELETE FROM access_rules WHERE account_id = $1 AND user_id = $2")
                .bind(account.0)
                .bind(user.0)
                .execute(&mut *conn)
                .await?
        }
    };
    for (position, rule) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO access_rules (account_id, user_id, position, action, kind, value, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(account.0)
        .bind(user.map(|u| u.0))
        .bind(position as i64)
        .bind(rule.action)
        .bind(rule.kind)
        .bind(&rule.value)
        .bind(rule.description)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The account's rules share the account's version (its ETag): bumps it if still `expected`.
pub async fn bump_account_version(
    conn: &mut Conn,
    account: AccountId,
    expected: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE accounts SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3")
        .bind(now)
        .bind(account.0)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a user's mode if the user is still at `expected` (their ETag), bumping the version.
pub async fn set_user_mode(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    mode: &str,
    expected: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET access_mode = $1, updated_at = $2, version = version + 1 \
         WHERE account_id = $3 AND id = $4 AND version = $5",
    )
    .bind(mode)
    .bind(now)
    .bind(account.0)
    .bind(user.0)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
