//! What users and roles grant, for delegated administration (D1, D2, D4, D8): effective
//! permissions with the scope each comes with, who is an account admin, which roles and groups
//! carry more than an actor holds, and which users a scope covers.

use std::collections::BTreeSet;

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use crate::ids::{AccountId, UserId};

/// Which of an account's users a statement covers: a principal's scope (D8) as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seen {
    #[default]
    All,
    /// The user and everyone sharing one of their desks.
    SharingDesksWith(UserId),
    /// The user and the end users whose company is `company` (compared case-insensitively).
    CompanyOf { me: UserId, company: String },
    Only(UserId),
}

impl Seen {
    /// ` AND …` restricting `users u` to the covered users; empty for `All`.
    pub fn users_sql(&self) -> Sql {
        let mut sql = Sql::default();
        match self {
            Seen::All => {}
            Seen::SharingDesksWith(me) => {
                sql.push(" AND (u.id = ").bind(me.0).push(
                    " OR u.id IN (SELECT b.user_id FROM user_desks a JOIN user_desks b ON b.desk_id = a.desk_id WHERE a.user_id = ",
                );
                sql.bind(me.0).push("))");
            }
            Seen::CompanyOf { me, company } => {
                sql.push(" AND (u.id = ").bind(me.0).push(" OR (u.is_end_user = ").bind(true);
                sql.push(" AND LOWER(u.company) = ").bind(company.to_lowercase()).push("))");
            }
            Seen::Only(me) => {
                sql.push(" AND u.id = ").bind(me.0);
            }
        }
        sql
    }
}

/// A user's permissions, each with the scope of the widest role that grants it; direct
/// permissions come with the whole account.
pub async fn effective_grants(conn: &mut Conn, user: UserId) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query(
        "SELECT rp.permission, r.scope FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
           JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = $1 \
         UNION SELECT rp.permission, r.scope FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
           JOIN roles r ON r.id = gr.role_id JOIN role_permissions rp ON rp.role_id = gr.role_id WHERE gm.user_id = $1 \
         UNION SELECT permission, 'account' FROM user_permissions WHERE user_id = $1",
    )
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// Whether the user holds the built-in Admin role, directly or through a group.
pub async fn holds_admin_role(conn: &mut Conn, user: UserId) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 AND r.builtin = 'admin' \
         UNION SELECT 1 FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
           JOIN roles r ON r.id = gr.role_id WHERE gm.user_id = $1 AND r.builtin = 'admin'",
    )
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// What one role grants.
#[derive(Debug, Clone)]
pub struct RoleGrant {
    pub id: i64,
    pub name: String,
    pub builtin: Option<String>,
    pub scope: String,
    pub permissions: BTreeSet<String>,
}

/// The roles of the account among `ids`, with their permissions.
pub async fn roles(conn: &mut Conn, account: AccountId, ids: &[i64]) -> Result<Vec<RoleGrant>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT r.id, r.name, r.builtin, r.scope, rp.permission FROM roles r LEFT JOIN role_permissions rp ON rp.role_id = r.id WHERE r.account_id = ");
    sql.bind(account.0).push(" AND r.id IN (").bind_list(ids).push(") ORDER BY r.id");
    let mut out: Vec<RoleGrant> = Vec::new();
    for row in sql.query().fetch_all(&mut *conn).await? {
        let id: i64 = row.try_get(0)?;
        if out.last().is_none_or(|r| r.id != id) {
            out.push(RoleGrant { id, name: row.try_get(1)?, builtin: row.try_get(2)?, scope: row.try_get(3)?, permissions: BTreeSet::new() });
        }
        if let Some(p) = row.try_get::<Option<String>, _>(4)? {
            out.last_mut().expect("pushed above").permissions.insert(p);
        }
    }
    Ok(out)
}

/// The roles that the account's groups among `groups` carry.
pub async fn roles_of_groups(conn: &mut Conn, account: AccountId, groups: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT DISTINCT gr.role_id FROM group_roles gr JOIN groups g ON g.id = gr.group_id WHERE g.account_id = ");
    sql.bind(account.0).push(" AND gr.group_id IN (").bind_list(groups).push(")");
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect()
}

/// The account's roles that grant something outside `held`, and the Admin role unless
/// `admin_ok`: what an actor holding `held` may neither give nor reach.
pub async fn roles_beyond(conn: &mut Conn, account: AccountId, held: &[&str], admin_ok: bool) -> Result<Vec<i64>, sqlx::Error> {
    let mut sql = Sql::new("SELECT DISTINCT r.id FROM roles r JOIN role_permissions rp ON rp.role_id = r.id WHERE r.account_id = ");
    sql.bind(account.0);
    if !held.is_empty() {
        sql.push(" AND rp.permission NOT IN (").bind_list(held).push(")");
    }
    if !admin_ok {
        sql.push(" UNION SELECT r.id FROM roles r WHERE r.account_id = ").bind(account.0).push(" AND r.builtin = 'admin'");
    }
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect()
}

/// `(…)`: a condition on `users u` true of the users whose grants go beyond `held` (D2):
/// platform operators (unless the actor is one), holders of a role in `beyond` (from
/// `roles_beyond`), directly or through a group, and holders of a direct permission outside `held`.
pub fn beyond_reach_sql(held: &[&str], beyond: &[i64], platform_operator: bool) -> Sql {
    if platform_operator {
        return Sql::new("(1 = 0)");
    }
    let mut sql = Sql::new("(u.is_superuser = ");
    sql.bind(true);
    if !beyond.is_empty() {
        sql.push(" OR u.id IN (SELECT ur.user_id FROM user_roles ur WHERE ur.role_id IN (").bind_list(beyond).push("))");
        sql.push(" OR u.id IN (SELECT gm.user_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id IN (")
            .bind_list(beyond)
            .push("))");
    }
    sql.push(" OR u.id IN (SELECT up.user_id FROM user_permissions up");
    if !held.is_empty() {
        sql.push(" WHERE up.permission NOT IN (").bind_list(held).push(")");
    }
    sql.push("))");
    sql
}

/// Whether `user` is a user of `account` that `seen` covers.
pub async fn covers(conn: &mut Conn, account: AccountId, seen: &Seen, user: UserId) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT 1 FROM users u WHERE u.account_id = ");
    sql.bind(account.0).push(" AND u.id = ").bind(user.0).append(&seen.users_sql());
    Ok(sql.query().fetch_optional(&mut *conn).await?.is_some())
}

/// D4: the account's admins who can sign in: active, with a password, holding the Admin role.
pub async fn count_signable_admins(conn: &mut Conn, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND u.status = 'active' AND u.password_hash IS NOT NULL AND u.id IN ( \
           SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.account_id = $1 AND r.builtin = 'admin' \
           UNION SELECT gm.user_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
             JOIN roles r ON r.id = gr.role_id WHERE r.account_id = $1 AND r.builtin = 'admin')",
    )
    .bind(account.0)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}
