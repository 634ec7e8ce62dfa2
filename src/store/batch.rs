//! Multi-row inserts for loading many users at once (the importer, the synthetic loader):
//! dozens of rows per statement instead of a round trip each.

use std::collections::HashMap;

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use super::users::Link;
use crate::ids::{AccountId, UserId};
use crate::model::user::UserFields;

/// A user as the importer writes it: every field, and the stored password hash if any.
pub struct NewUser<'a> {
    pub fields: &'a UserFields,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
}

/// Users per statement of `insert_users`. SQLite (and sqlx's binding for it) look `$n`
/// parameters up by name in a list, so a statement costs the square of its parameter count:
/// 32 users of up to 33 parameters each measured twice as fast per user as 100, and 8 times
/// as fast as 500. Integers and flags are written as literals, so a row binds only its text.
const INSERT_MANY_ROWS: usize = 32;

/// Inserts the users, `INSERT_MANY_ROWS` per statement; returns their ids in the order given.
pub async fn insert_users(
    conn: &mut Conn,
    account: AccountId,
    users: &[NewUser<'_>],
    now: i64,
) -> Result<Vec<UserId>, sqlx::Error> {
    let mut ids = Vec::with_capacity(users.len());
    for chunk in users.chunks(INSERT_MANY_ROWS) {
        ids.extend(insert_chunk(conn, account, chunk, now).await?);
    }
    Ok(ids)
}

/// The statement's head; each row's values follow in this order.
pub(crate) const INSERT_MANY: &str = "INSERT INTO users (account_id, login, login_key, email, email_key, first_name, \
    last_name, phone, mobile, extension, sip_username, phone_topology, company, related_contact, external_id, time_zone, \
    date_format, time_format, receive_email, receive_sms, is_agent, is_supervisor, is_superuser, is_end_user, \
    is_company_supervisor, status, two_factor_method, two_factor_mode, password_hash, password_changed_at, \
    must_change_password, search_text, created_at, updated_at, version) VALUES ";

async fn insert_chunk(
    conn: &mut Conn,
    account: AccountId,
    users: &[NewUser<'_>],
    now: i64,
) -> Result<Vec<UserId>, sqlx::Error> {
    fn text(sql: &mut Sql, v: Option<&str>) {
        sql.push(", ");
        match v {
            Some(v) => sql.bind(v),
            None => sql.push("NULL"),
        };
    }
    let mut sql = Sql::new(INSERT_MANY);
    for (i, u) in users.iter().enumerate() {
        let f = u.fields;
        // Integers and flags are Roster's own values, written as literals: fewer parameters.
        sql.push(&format!("{}({}", if i == 0 { "" } else { ", " }, account.0));
        text(&mut sql, Some(f.login.as_str()));
        text(&mut sql, Some(&f.login.key()));
        text(&mut sql, f.email.as_ref().map(|v| v.as_str()));
        text(&mut sql, f.email.as_ref().map(|e| e.key()).as_deref());
        for v in [&f.first_name, &f.last_name] {
            text(&mut sql, v.as_ref().map(|v| v.as_str()));
        }
        for v in [&f.phone, &f.mobile] {
            text(&mut sql, v.as_ref().map(|v| v.as_str()));
        }
        text(&mut sql, f.extension.as_ref().map(|v| v.as_str()));
        text(&mut sql, f.sip_username.as_ref().map(|v| v.as_str()));
        text(&mut sql, f.phone_topology.map(|t| t.as_str()));
        for v in [&f.company, &f.related_contact, &f.external_id] {
            text(&mut sql, v.as_ref().map(|v| v.as_str()));
        }
        text(&mut sql, f.time_zone.as_ref().map(|t| t.as_str()));
        text(&mut sql, f.date_format.map(|d| d.as_str()));
        text(&mut sql, f.time_format.map(|t| t.as_str()));
        let flags = f.flags;
        for flag in [
            flags.receive_email,
            flags.receive_sms,
            flags.is_agent,
            flags.is_supervisor,
            flags.is_superuser,
            flags.is_end_user,
            flags.is_company_supervisor,
        ] {
            sql.push(", ").push(literal(flag));
        }
        text(&mut sql, Some(f.status.as_str()));
        text(&mut sql, Some(f.two_factor_method.as_str()));
        text(&mut sql, Some(f.two_factor_mode.as_str()));
        text(&mut sql, u.password_hash);
        match u.password_hash {
            Some(_) => sql.push(&format!(", {now}")),
            None => sql.push(", NULL"),
        };
        sql.push(", ").push(literal(u.must_change_password));
        text(&mut sql, Some(&f.search_text()));
        sql.push(&format!(", {now}, {now}, 1)"));
    }
    sql.push(" RETURNING id, login_key");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    // RETURNING promises no order: match the ids back by login.
    let mut by_login = HashMap::with_capacity(rows.len());
    for row in rows {
        by_login.insert(row.try_get::<String, _>(1)?, UserId(row.try_get(0)?));
    }
    users.iter().map(|u| by_login.get(&u.fields.login.key()).copied().ok_or_else(|| sqlx::Error::RowNotFound)).collect()
}

/// Direct permissions of many users, 250 pairs per statement.
pub async fn insert_permissions(conn: &mut Conn, pairs: &[(UserId, &str)]) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(250) {
        let mut sql = Sql::new("INSERT INTO user_permissions (user_id, permission) VALUES ");
        for (i, (user, permission)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" }).bind(user.0).push(", ").bind(*permission).push(")");
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
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
