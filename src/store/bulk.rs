//! Set-based statements for mass actions: a 100,000-user action is a handful of statements,
//! not 100,000 round trips.

use sqlx::Row;

use super::Conn;
use super::grants::Seen;
use super::sql::Sql;
use super::users::{Link, target_sql};
use crate::ids::{AccountId, UserId};
use crate::model::user::UserStatus;
use crate::model::user_filter::Target;

#[derive(Debug, Clone)]
pub enum Plan {
    SetStatus {
        to: UserStatus,
        exclude: Option<UserId>,
    },
    Delete {
        exclude: Option<UserId>,
        keep_superusers: bool,
    },
    Link {
        link: Link,
        add: bool,
        values: Vec<i64>,
    },
    /// A deactivation period for each active user (R18).
    Schedule {
        period: OwnedPeriod,
        exclude: Option<UserId>,
    },
}

/// A period to give many users, as a mass action holds it.
#[derive(Debug, Clone)]
pub struct OwnedPeriod {
    pub starts_at: crate::clock::Timestamp,
    pub ends_at: Option<crate::clock::Timestamp>,
    pub reason: Option<String>,
    /// It begins at once: the users are deactivated by the action itself.
    pub begins_now: bool,
    pub created_by: Option<UserId>,
    pub created_by_label: String,
}

/// Whom a mass action that sets `to` changes: the deactivated for `active`, else the active.
pub fn status_before(to: UserStatus) -> UserStatus {
    match to {
        UserStatus::Active => UserStatus::Disabled,
        UserStatus::Disabled | UserStatus::Invited => UserStatus::Active,
    }
}

/// The users a mass action selects: its target within what the actor sees, less those the
/// actor may not change (`exclude`, a condition on `users u` starting with ` AND`).
pub fn selected(account: AccountId, seen: &Seen, target: &Target, exclude: &Sql) -> Sql {
    let mut sql = target_sql(account, seen, target);
    sql.append(exclude);
    sql
}

/// A condition on `users u`: the selected users that the plan actually changes.
pub fn changing_where(selected: &Sql, plan: &Plan) -> Sql {
    let mut sql = selected.clone();
    match plan {
        Plan::SetStatus { to, exclude } => {
            // Activating reaches the deactivated and deactivating the active: never an invited
            // user, whose way in is their invitation.
            sql.push(" AND u.status = ").bind(status_before(*to).as_str());
            if let Some(me) = exclude {
                sql.push(" AND u.id <> ").bind(me.0);
            }
        }
        Plan::Schedule { exclude, .. } => {
            sql.push(" AND u.status = ").bind(UserStatus::Active.as_str());
            if let Some(me) = exclude {
                sql.push(" AND u.id <> ").bind(me.0);
            }
        }
        Plan::Delete { exclude, keep_superusers } => {
            if let Some(me) = exclude {
                sql.push(" AND u.id <> ").bind(me.0);
            }
            if *keep_superusers {
                sql.push(" AND u.is_superuser = ").bind(false);
            }
        }
        Plan::Link { link, add, values } => {
            let (table, column) = (link.join_table(), link.column());
            if *add {
                sql.push(&format!(
                    " AND EXISTS (SELECT 1 FROM {} t WHERE t.account_id = u.account_id AND t.id IN (",
                    link.table()
                ))
                .bind_list(values)
                .push(&format!(
                    ") AND NOT EXISTS (SELECT 1 FROM {table} j WHERE j.user_id = u.id AND j.{column} = t.id))"
                ));
                if *link == Link::Queues {
                    // Only agents are queue members (R11, R16).
                    sql.push(" AND u.is_agent = ").bind(true);
                }
            } else {
                sql.push(&format!(" AND EXISTS (SELECT 1 FROM {table} j WHERE j.user_id = u.id AND j.{column} IN ("))
                    .bind_list(values)
                    .push("))");
            }
        }
    }
    sql
}

pub async fn count_where(conn: &mut Conn, users_where: &Sql) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM users u WHERE ");
    sql.append(users_where);
    sql.query().fetch_one(&mut *conn).await?.try_get(0)
}

/// Up to `limit` ids of the users `users_where` selects, for a message.
pub async fn ids_where(conn: &mut Conn, users_where: &Sql, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let mut sql = Sql::new("SELECT u.id FROM users u WHERE ");
    sql.append(users_where).push(" ORDER BY u.id LIMIT ").bind(limit);
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect()
}

/// Applies the plan to the users `changing` selects; returns how many users changed.
pub async fn apply(conn: &mut Conn, selected: &Sql, plan: &Plan, changing: &Sql, now: i64) -> Result<u64, sqlx::Error> {
    match plan {
        Plan::SetStatus { to, .. } => {
            let mut sql = Sql::new("UPDATE users SET status = ");
            sql.bind(to.as_str())
                .push(", updated_at = ")
                .bind(now)
                .push(", version = version + 1 WHERE id IN (SELECT u.id FROM users u WHERE ");
            sql.append(changing).push(")");
            let changed = sql.query().execute(&mut *conn).await?.rows_affected();
            Ok(changed)
        }
        Plan::Schedule { period, .. } => {
            use super::lifecycle as periods;
            let state = match period.begins_now {
                true => crate::model::lifecycle::PeriodState::InEffect,
                false => crate::model::lifecycle::PeriodState::Pending,
            };
            let new = periods::NewPeriod {
                starts_at: period.starts_at,
                ends_at: period.ends_at,
                reason: period.reason.as_deref(),
                state,
                created_by: period.created_by,
                created_by_label: &period.created_by_label,
                now,
            };
            let changed = periods::insert_period_per_user(conn, &new, changing).await?;
            // While `changing` still matches them (it asks for active users).
            periods::show_on_users(conn, changing).await?;
            if period.begins_now {
                let mut sql = Sql::new("UPDATE users SET status = ");
                sql.bind(UserStatus::Disabled.as_str())
                    .push(", updated_at = ")
                    .bind(now)
                    .push(", version = version + 1 WHERE id IN (SELECT u.id FROM users u WHERE ");
                sql.append(changing).push(")");
                sql.query().execute(&mut *conn).await?;
            }
            Ok(changed)
        }
        Plan::Delete { .. } => {
            // Assignments and sessions go with the users (ON DELETE CASCADE): R22.
            let mut sql = Sql::new("DELETE FROM users WHERE id IN (SELECT u.id FROM users u WHERE ");
            sql.append(changing).push(")");
            Ok(sql.query().execute(&mut *conn).await?.rows_affected())
        }
        Plan::Link { link, add, values } => {
            let (table, column) = (link.join_table(), link.column());
            let mut bump = Sql::new("UPDATE users SET updated_at = ");
            bump.bind(now).push(", version = version + 1 WHERE id IN (SELECT u.id FROM users u WHERE ");
            bump.append(changing).push(")");
            let changed = bump.query().execute(&mut *conn).await?.rows_affected();
            // A queue's member list version moves by trigger with each membership written
            // (migration 0014).
            // A membership says when it began.
            let (since_column, since) = match link {
                Link::Queues => (", created_at", format!(", CAST({now} AS BIGINT)")),
                _ => ("", String::new()),
            };
            let sql = if *add {
                let mut s = Sql::new(format!(
                    "INSERT INTO {table} (user_id, {column}{since_column}) SELECT u.id, t.id{since} FROM users u \
                     CROSS JOIN {} t WHERE ",
                    link.table()
                ));
                s.append(selected).push(" AND t.account_id = u.account_id AND t.id IN (").bind_list(values).push(
                    &format!(") AND NOT EXISTS (SELECT 1 FROM {table} j WHERE j.user_id = u.id AND j.{column} = t.id)"),
                );
                if *link == Link::Queues {
                    s.push(" AND u.is_agent = ").bind(true);
                }
                s
            } else {
                let mut s = Sql::new(format!("DELETE FROM {table} WHERE {column} IN ("));
                s.bind_list(values).push(") AND user_id IN (SELECT u.id FROM users u WHERE ");
                s.append(selected).push(")");
                s
            };
            sql.query().execute(&mut *conn).await?;
            Ok(changed)
        }
    }
}
