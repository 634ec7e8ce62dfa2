//! Roles, groups, desks and skills: named things of an account that users are linked to.
//! They share one shape (name, description, version), so they share these statements.

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use super::users::Link;
use crate::ids::AccountId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub name: String,
    /// The name as compared for uniqueness and order (lowercased).
    pub name_key: String,
    pub description: String,
    /// For roles: the built-in role's key (`admin`, …); `None` for custom roles and other kinds.
    pub builtin: Option<String>,
    /// For roles: whom its holders reach (D8); `None` for other kinds.
    pub scope: Option<crate::model::Scope>,
    pub member_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn select(link: Link) -> String {
    select_counted(link, true)
}

/// `counted`: whether `member_count` is counted (a count of the link table per item: 900,000
/// index entries for the Agent role at a million users) or left at 0.
fn select_counted(link: Link, counted: bool) -> String {
    let builtin = if link == Link::Roles { "t.builtin" } else { "CAST(NULL AS TEXT)" };
    let scope = if link == Link::Roles { "t.scope" } else { "CAST(NULL AS TEXT)" };
    let (join_table, column) = (link.join_table(), link.column());
    let member_count = match counted {
        true => format!("(SELECT COUNT(*) FROM {join_table} j WHERE j.{column} = t.id)"),
        false => "CAST(0 AS BIGINT)".to_string(),
    };
    format!(
        "SELECT t.id, t.account_id, t.name, t.name_key, t.description, {builtin} AS builtin, {scope} AS scope, \
         {member_count} AS member_count, t.created_at, t.updated_at, t.version FROM {} t",
        link.table()
    )
}

pub async fn list(conn: &mut Conn, link: Link, account: AccountId) -> Result<Vec<NamedRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{} WHERE t.account_id = $1 ORDER BY t.name_key", select(link)))
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await
}

/// The account's roles, groups, desks, skills and queues (in `Link::LISTED` order), each in name
/// order, for the pickers of one page, in one statement kept prepared; `member_count` is 0, not
/// counted.
pub async fn list_all_uncounted(conn: &mut Conn, account: AccountId) -> Result<[Vec<NamedRecord>; 5], sqlx::Error> {
    use sqlx::{FromRow, Row};
    let selects: Vec<String> = Link::LISTED
        .iter()
        .enumerate()
        .map(|(k, link)| {
            let select =
                select_counted(*link, false).replacen("SELECT ", &format!("SELECT CAST({k} AS BIGINT) AS kind, "), 1);
            format!("{select} WHERE t.account_id = $1")
        })
        .collect();
    let text = format!("{} ORDER BY kind, name_key", selects.join(" UNION ALL "));
    let mut out: [Vec<NamedRecord>; 5] = Default::default();
    for row in sqlx::query(&text).bind(account.0).fetch_all(&mut *conn).await? {
        let kind: i64 = row.try_get("kind")?;
        let slot = usize::try_from(kind).ok().and_then(|k| out.get_mut(k));
        slot.ok_or_else(|| sqlx::Error::Decode(format!("a picker kind {kind}").into()))?
            .push(NamedRecord::from_row(&row)?);
    }
    Ok(out)
}

/// Up to `limit` of the account's items in name order, after the name key `after`.
pub async fn page(
    conn: &mut Conn,
    link: Link,
    account: AccountId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<NamedRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{} WHERE t.account_id = $1 AND ($2 IS NULL OR t.name_key > $2) ORDER BY t.name_key LIMIT $3",
        select(link)
    ))
    .bind(account.0)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
}

pub async fn get(conn: &mut Conn, link: Link, account: AccountId, id: i64) -> Result<Option<NamedRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{} WHERE t.account_id = $1 AND t.id = $2", select(link)))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

pub async fn insert(
    conn: &mut Conn,
    link: Link,
    account: AccountId,
    name: &str,
    name_key: &str,
    description: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO {} (account_id, name, name_key, description, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $5, 1) RETURNING id",
        link.table()
    ))
    .bind(account.0)
    .bind(name)
    .bind(name_key)
    .bind(description)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get(0)
}

pub async fn insert_builtin_role(
    conn: &mut Conn,
    account: AccountId,
    key: &str,
    name: &str,
    description: &str,
    scope: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id = insert(conn, Link::Roles, account, name, &name.to_lowercase(), description, now).await?;
    sqlx::query("UPDATE roles SET builtin = $1, scope = $2 WHERE id = $3")
        .bind(key)
        .bind(scope)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub async fn set_role_scope(conn: &mut Conn, role: i64, scope: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE roles SET scope = $1 WHERE id = $2").bind(scope).bind(role).execute(&mut *conn).await?;
    Ok(())
}

/// Updates if the version still matches; `false` when it does not.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    conn: &mut Conn,
    link: Link,
    account: AccountId,
    id: i64,
    name: &str,
    name_key: &str,
    description: &str,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET name = $1, name_key = $2, description = $3, updated_at = $4, version = version + 1 \
         WHERE account_id = $5 AND id = $6 AND version = $7",
        link.table()
    ))
    .bind(name)
    .bind(name_key)
    .bind(description)
    .bind(now)
    .bind(account.0)
    .bind(id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch(conn: &mut Conn, link: Link, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("UPDATE {} SET updated_at = $1, version = version + 1 WHERE id = $2", link.table()))
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, link: Link, account: AccountId, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!("DELETE FROM {} WHERE account_id = $1 AND id = $2", link.table()))
        .bind(account.0)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `(id, name)` of those of `ids` that exist in the account, in name order.
pub async fn names(
    conn: &mut Conn,
    link: Link,
    account: AccountId,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(format!("SELECT id, name FROM {} WHERE account_id = ", link.table()));
    sql.bind(account.0).push(" AND id IN (").bind_list(ids).push(") ORDER BY name_key");
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Looks a name up case-insensitively (used by the importer, which names roles and desks).
pub async fn find_by_name(
    conn: &mut Conn,
    link: Link,
    account: AccountId,
    name_key: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT id FROM {} WHERE account_id = $1 AND name_key = $2", link.table()))
        .bind(account.0)
        .bind(name_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

pub async fn role_permissions(conn: &mut Conn, role: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("SELECT permission FROM role_permissions WHERE role_id = $1 ORDER BY permission")
        .bind(role)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect()
}

pub async fn set_role_permissions(conn: &mut Conn, role: i64, permissions: &[&str]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1").bind(role).execute(&mut *conn).await?;
    for p in permissions {
        sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
            .bind(role)
            .bind(*p)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn group_roles(conn: &mut Conn, group: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT r.id, r.name FROM group_roles g JOIN roles r ON r.id = g.role_id WHERE g.group_id = $1 ORDER BY r.name_key")
        .bind(group)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn set_group_roles(conn: &mut Conn, group: i64, roles: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM group_roles WHERE group_id = $1").bind(group).execute(&mut *conn).await?;
    for r in roles {
        sqlx::query("INSERT INTO group_roles (group_id, role_id) VALUES ($1, $2)")
            .bind(group)
            .bind(*r)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Names of the roles a user holds directly or through groups.
pub async fn effective_roles(conn: &mut Conn, user: crate::ids::UserId) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(
        "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 \
         UNION SELECT r.name FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
           JOIN roles r ON r.id = gr.role_id WHERE gm.user_id = $1",
    )
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect()
}

/// Grants a built-in role, in every account, a permission it lacks (permissions added to the
/// catalog after the account was made). Returns how many roles gained it.
pub async fn grant_to_builtin(conn: &mut Conn, key: &str, permission: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO role_permissions (role_id, permission) SELECT r.id, $1 FROM roles r WHERE r.builtin = $2 \
         AND NOT EXISTS (SELECT 1 FROM role_permissions p WHERE p.role_id = r.id AND p.permission = $1) \
         ON CONFLICT DO NOTHING",
    )
    .bind(permission)
    .bind(key)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
