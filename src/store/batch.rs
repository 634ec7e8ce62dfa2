//! Multi-row inserts for loading many users at once (the synthetic loader): a thousand rows
//! per statement instead of a thousand round trips.

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use super::users::Link;
use crate::ids::AccountId;

/// The columns a loaded user sets; the rest keep their defaults.
pub struct BatchUser {
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub extension: Option<String>,
    pub status: &'static str,
    pub is_agent: bool,
    pub is_supervisor: bool,
}

/// Rows per statement. More rows mean fewer round trips, but SQLite looks a parameter's name
/// up by walking a list, so binding costs grow with the square of the parameters per
/// statement: at 1,000 rows (14,000 parameters) binding took 85% of the load time. Hence few parameters
/// per row and a hundred rows per statement.
pub const ROWS_PER_STATEMENT: usize = 100;

/// Inserts the users (at most `ROWS_PER_STATEMENT`) and returns their ids in the same order.
pub async fn insert_users(conn: &mut Conn, account: AccountId, users: &[BatchUser], now: i64) -> Result<Vec<i64>, sqlx::Error> {
    assert!(users.len() <= ROWS_PER_STATEMENT, "split batches before calling insert_users");
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "INSERT INTO users (account_id, login, login_key, email, email_key, first_name, last_name, extension, \
         status, is_agent, is_supervisor, search_text, created_at, updated_at, version) VALUES ",
    );
    for (i, u) in users.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let key = u.login.to_ascii_lowercase();
        let search = [Some(u.login.as_str()), u.email.as_deref(), u.first_name.as_deref(), u.last_name.as_deref(), u.extension.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        // Integers and flags are Roster's own values, written as literals; only text is bound.
        sql.push(&format!("({}, ", account.0)).bind(u.login.as_str()).push(", ").bind(key).push(", ");
        match &u.email {
            Some(e) => sql.bind(e.as_str()).push(", ").bind(e.to_lowercase()),
            None => sql.push("NULL, NULL"),
        };
        for v in [&u.first_name, &u.last_name, &u.extension] {
            sql.push(", ");
            match v {
                Some(v) => sql.bind(v.as_str()),
                None => sql.push("NULL"),
            };
        }
        let status = if u.status == "active" { "active" } else { "disabled" };
        sql.push(&format!(", '{status}', {}, {}, ", literal(u.is_agent), literal(u.is_supervisor)));
        sql.bind(search).push(&format!(", {now}, {now}, 1)"));
    }
    sql.push(" RETURNING id, login_key");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    // RETURNING gives no order guarantee: match the ids back by login.
    let mut by_login = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let key: String = row.try_get(1)?;
        by_login.insert(key, id);
    }
    Ok(users.iter().map(|u| by_login[&u.login.to_ascii_lowercase()]).collect())
}

/// `TRUE`/`FALSE`: PostgreSQL's booleans, which SQLite also reads (as 1 and 0).
fn literal(flag: bool) -> &'static str {
    if flag { "TRUE" } else { "FALSE" }
}

/// Inserts `(user_id, thing_id)` links of one kind, `ROWS_PER_STATEMENT` at a time.
pub async fn insert_links(conn: &mut Conn, link: Link, pairs: &[(i64, i64)]) -> Result<(), sqlx::Error> {
    let (table, column) = (link.join_table(), link.column());
    // Ids are integers from the database: written as literals, nothing to bind.
    for chunk in pairs.chunks(1000) {
        let values: Vec<String> = chunk.iter().map(|(user, thing)| format!("({user}, {thing})")).collect();
        let sql = format!("INSERT INTO {table} (user_id, {column}) VALUES {}", values.join(", "));
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(())
}
