//! Which of a handful of users (a page of the users table, one user's page) an actor may change
//! (D2) and which of the actor's scopes cover them (D8), in one statement, so that the console
//! offers only the actions the services would allow.

use sqlx::Row;

use super::Conn;
use super::grants::Seen;
use super::sql::Sql;
use crate::ids::{AccountId, UserId};

/// One user's answer: beyond the actor's reach (`beyond_reach_sql` holds), and for each of the
/// `seens` asked about, whether it covers the user (in the same order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserReach {
    pub id: UserId,
    pub beyond: bool,
    pub covered: Vec<bool>,
}

/// For the users of `account` among `ids`: whether `beyond` (a condition on `users u`, from
/// `grants::beyond_reach_sql`) holds, and whether each of `seens` covers them. Users not in the
/// account are left out.
pub async fn of_users(
    conn: &mut Conn,
    account: AccountId,
    ids: &[UserId],
    beyond: &Sql,
    seens: &[Seen],
) -> Result<Vec<UserReach>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT u.id, CAST(CASE WHEN ");
    sql.append(beyond).push(" THEN 1 ELSE 0 END AS BIGINT)");
    for seen in seens {
        sql.push(", CAST(CASE WHEN (1 = 1").append(&seen.users_sql_per_row()).push(") THEN 1 ELSE 0 END AS BIGINT)");
    }
    let raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
    sql.push(" FROM users u WHERE u.account_id = ").bind(account.0).push(" AND u.id IN (").bind_list(&raw).push(")");
    // Kept prepared on SQLite, as the list's statements (parsing was most of its cost there);
    // its shape depends on the page's size and the viewer's scopes only.
    let sqlite = super::Engine::of(conn) == super::Engine::Sqlite;
    sql.query()
        .persistent(sqlite)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let beyond: i64 = row.try_get(1)?;
            let covered =
                (0..seens.len()).map(|i| row.try_get::<i64, _>(i + 2).map(|v| v != 0)).collect::<Result<_, _>>()?;
            Ok(UserReach { id: UserId(row.try_get(0)?), beyond: beyond != 0, covered })
        })
        .collect()
}
