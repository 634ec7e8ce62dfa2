//! Deactivation periods and the activation log (migration 0010).

use crate::clock::Timestamp;
use crate::ids::{AccountId, PeriodId, UserId};
use crate::model::lifecycle::{ActivationCause, ActivationChange, ActivationRecord, PeriodRecord, PeriodState};
use crate::store::Conn;
use crate::store::sql::Sql;

const PERIOD_COLUMNS: &str = "id, account_id, user_id, starts_at, ends_at, reason, state, due_at, created_by, \
    created_by_label, created_at, updated_at, version";

/// A period to write, for one user or for many.
pub struct NewPeriod<'a> {
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub reason: Option<&'a str>,
    pub state: PeriodState,
    pub created_by: Option<UserId>,
    pub created_by_label: &'a str,
    pub now: i64,
}

/// When the job next has something to do with a period in `state` (see migration 0010).
fn due_at(state: PeriodState, starts_at: Timestamp, ends_at: Option<Timestamp>) -> Option<Timestamp> {
    match state {
        PeriodState::Pending => Some(starts_at),
        PeriodState::InEffect => ends_at,
        PeriodState::Ended | PeriodState::Cancelled => None,
    }
}

pub async fn insert_period(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    p: &NewPeriod<'_>,
) -> Result<PeriodId, sqlx::Error> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO deactivation_periods (account_id, user_id, starts_at, ends_at, reason, state, due_at, created_by, \
         created_by_label, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(account.0)
    .bind(user.0)
    .bind(p.starts_at)
    .bind(p.ends_at)
    .bind(p.reason)
    .bind(p.state.as_str())
    .bind(due_at(p.state, p.starts_at, p.ends_at))
    .bind(p.created_by.map(|u| u.0))
    .bind(p.created_by_label)
    .bind(p.now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(PeriodId(row.0))
}

/// A user's periods, latest first (`open_only`: those pending or in effect).
pub async fn periods_of(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    open_only: bool,
) -> Result<Vec<PeriodRecord>, sqlx::Error> {
    let open = if open_only { " AND state IN ('pending', 'in_effect')" } else { "" };
    sqlx::query_as(&format!(
        "SELECT {PERIOD_COLUMNS} FROM deactivation_periods WHERE account_id = $1 AND user_id = $2{open} \
         ORDER BY starts_at DESC, id DESC"
    ))
    .bind(account.0)
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await
}

pub async fn period(conn: &mut Conn, account: AccountId, id: PeriodId) -> Result<Option<PeriodRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {PERIOD_COLUMNS} FROM deactivation_periods WHERE account_id = $1 AND id = $2"))
        .bind(account.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
}

/// Where a period goes: its state, and its times and reason (new ones, or its own).
pub struct Moved<'a> {
    pub state: PeriodState,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub reason: Option<&'a str>,
}

impl<'a> Moved<'a> {
    /// To `state`, keeping its times and reason.
    pub fn to(period: &'a PeriodRecord, state: PeriodState) -> Moved<'a> {
        Moved { state, starts_at: period.starts_at, ends_at: period.ends_at, reason: period.reason.as_deref() }
    }
}

/// Moves a period on if it is still in the state it was read in, at `expected_version` (any
/// version when `None`). This is the claim: of two instances applying the same due period,
/// the second finds it moved and changes nothing.
pub async fn move_period(
    conn: &mut Conn,
    period: &PeriodRecord,
    expected_version: Option<i64>,
    to: &Moved<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE deactivation_periods SET state = ");
    sql.bind(to.state.as_str())
        .push(", starts_at = ")
        .bind(to.starts_at)
        .push(", ends_at = ")
        .bind(to.ends_at)
        .push(", reason = ")
        .bind(to.reason.map(str::to_string))
        .push(", due_at = ")
        .bind(due_at(to.state, to.starts_at, to.ends_at))
        .push(", updated_at = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(period.id.0)
        .push(" AND state = ")
        .bind(period.state.as_str());
    if let Some(v) = expected_version {
        sql.push(" AND version = ").bind(v);
    }
    Ok(sql.query().execute(&mut *conn).await?.rows_affected() == 1)
}

/// Periods whose next step fell due at or before `now`, soonest first; at the same moment,
/// ends before beginnings, so that back-to-back periods hand over (the first reactivates, the
/// second deactivates) rather than the second finding the user out already.
pub async fn due(conn: &mut Conn, now: Timestamp, limit: i64) -> Result<Vec<PeriodRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PERIOD_COLUMNS} FROM deactivation_periods WHERE due_at IS NOT NULL AND due_at <= $1 \
         ORDER BY due_at, CASE WHEN state = 'in_effect' THEN 0 ELSE 1 END, id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

/// When the next period falls due, in any account.
pub async fn next_due(conn: &mut Conn) -> Result<Option<Timestamp>, sqlx::Error> {
    let row: (Option<Timestamp>,) =
        sqlx::query_as("SELECT MIN(due_at) FROM deactivation_periods WHERE due_at IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.0)
}

/// Ends the periods in effect of the users matched by `users_where` (they were reactivated by
/// hand, by a mass action or an import); returns how many ended.
pub async fn end_in_effect(conn: &mut Conn, users_where: &Sql, now: i64) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("UPDATE deactivation_periods SET state = 'ended', due_at = NULL, updated_at = ");
    sql.bind(now)
        .push(", version = version + 1 WHERE state = 'in_effect' AND user_id IN (SELECT u.id FROM users u WHERE ")
        .append(users_where)
        .push(")");
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// Writes each matched user's current or next open period on their row (what the list shows).
pub async fn show_on_users(conn: &mut Conn, users_where: &Sql) -> Result<u64, sqlx::Error> {
    let next = |column: &str| {
        format!(
            "(SELECT p.{column} FROM deactivation_periods p WHERE p.user_id = users.id \
             AND p.state IN ('pending', 'in_effect') \
             ORDER BY CASE WHEN p.state = 'in_effect' THEN 0 ELSE 1 END, p.starts_at, p.id LIMIT 1)"
        )
    };
    let mut sql = Sql::new(format!(
        "UPDATE users SET deactivation_from = {}, deactivation_until = {} WHERE id IN (SELECT u.id FROM users u WHERE ",
        next("starts_at"),
        next("ends_at")
    ));
    sql.append(users_where).push(")");
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// A condition on `users u` naming one user.
pub fn one_user(id: UserId) -> Sql {
    let mut sql = Sql::new("u.id = ");
    sql.bind(id.0);
    sql
}

pub struct NewActivation<'a> {
    pub account: AccountId,
    pub at: Timestamp,
    pub change: ActivationChange,
    pub cause: ActivationCause,
    pub actor: Option<UserId>,
    pub actor_label: &'a str,
    pub reason: Option<&'a str>,
    pub period: Option<PeriodId>,
}

/// One line for one user (`user`: id and label), or for the whole account (`None`).
pub async fn insert_activation(
    conn: &mut Conn,
    entry: &NewActivation<'_>,
    user: Option<(UserId, &str)>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO activation_log (account_id, user_id, user_label, at, change, cause, actor_id, actor_label, reason, \
         period_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.account.0)
    .bind(user.map(|(id, _)| id.0))
    .bind(user.map_or("", |(_, label)| label))
    .bind(entry.at)
    .bind(entry.change.as_str())
    .bind(entry.cause.as_str())
    .bind(entry.actor.map(|u| u.0))
    .bind(entry.actor_label)
    .bind(entry.reason)
    .bind(entry.period.map(|p| p.0))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One line per user matched by `users_where`, in one statement (mass actions, imports).
pub async fn insert_activation_per_user(
    conn: &mut Conn,
    entry: &NewActivation<'_>,
    users_where: &Sql,
) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO activation_log (account_id, user_id, user_label, at, change, cause, actor_id, actor_label, reason, \
         period_id) SELECT u.account_id, u.id, u.login, ",
    );
    sql.bind(entry.at)
        .push(", ")
        .bind(entry.change.as_str())
        .push(", ")
        .bind(entry.cause.as_str())
        .push(", ")
        .bind(entry.actor.map(|u| u.0))
        .push(", ")
        .bind(entry.actor_label)
        .push(", ")
        .bind(entry.reason.map(str::to_string))
        .push(", ")
        .bind(entry.period.map(|p| p.0))
        .push(" FROM users u WHERE ")
        .append(users_where);
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

#[derive(Debug, Clone, Default)]
pub struct ActivationFilter {
    pub user: Option<UserId>,
    /// Inclusive.
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    pub causes: Vec<ActivationCause>,
    /// Lines about users the reader sees (D8), and account-wide lines, when not `All`.
    pub seen: super::grants::Seen,
}

/// The account's log, newest first, before the line `before`.
pub async fn activation_page(
    conn: &mut Conn,
    account: AccountId,
    f: &ActivationFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ActivationRecord>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT id, account_id, user_id, user_label, at, change, cause, actor_id, actor_label, reason, period_id \
         FROM activation_log WHERE account_id = ",
    );
    sql.bind(account.0);
    if f.seen != super::grants::Seen::All {
        sql.push(" AND (user_id IS NULL OR user_id IN (SELECT u.id FROM users u WHERE u.account_id = ")
            .bind(account.0)
            .append(&f.seen.users_sql())
            .push("))");
    }
    if let Some(user) = f.user {
        sql.push(" AND user_id = ").bind(user.0);
    }
    if let Some(from) = f.from {
        sql.push(" AND at >= ").bind(from);
    }
    if let Some(to) = f.to {
        sql.push(" AND at < ").bind(to);
    }
    if !f.causes.is_empty() {
        let causes: Vec<&str> = f.causes.iter().map(|c| c.as_str()).collect();
        sql.push(" AND cause IN (").bind_list(&causes).push(")");
    }
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    sql.query_as().fetch_all(&mut *conn).await
}

/// A condition on `users u`: the user has an open period that shares a moment with
/// `[from, until)` (an open end runs for ever).
pub fn overlapping(from: Timestamp, until: Option<Timestamp>) -> Sql {
    let mut sql = Sql::new(
        "EXISTS (SELECT 1 FROM deactivation_periods p WHERE p.user_id = u.id AND p.state IN ('pending', 'in_effect') \
         AND (p.ends_at IS NULL OR p.ends_at > ",
    );
    sql.bind(from).push(")");
    if let Some(until) = until {
        sql.push(" AND p.starts_at < ").bind(until);
    }
    sql.push(")");
    sql
}

/// The same period for each user matched by `users_where`, in one statement (mass actions).
pub async fn insert_period_per_user(conn: &mut Conn, p: &NewPeriod<'_>, users_where: &Sql) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO deactivation_periods (account_id, user_id, starts_at, ends_at, reason, state, due_at, created_by, \
         created_by_label, created_at, updated_at) SELECT u.account_id, u.id, ",
    );
    sql.bind(p.starts_at)
        .push(", ")
        .bind(p.ends_at)
        .push(", ")
        .bind(p.reason.map(str::to_string))
        .push(", ")
        .bind(p.state.as_str())
        .push(", ")
        .bind(due_at(p.state, p.starts_at, p.ends_at))
        .push(", ")
        .bind(p.created_by.map(|u| u.0))
        .push(", ")
        .bind(p.created_by_label)
        .push(", ")
        .bind(p.now)
        .push(", ")
        .bind(p.now)
        .push(" FROM users u WHERE ")
        .append(users_where);
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// Holds the user's row until the transaction ends (PostgreSQL; SQLite's writers take turns),
/// so that two requests cannot both find no overlap and save overlapping periods.
pub async fn lock_user(conn: &mut Conn, user: UserId) -> Result<(), sqlx::Error> {
    let row_lock = super::Engine::of(conn).row_lock();
    sqlx::query(&format!("SELECT id FROM users WHERE id = $1{row_lock}"))
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(())
}
