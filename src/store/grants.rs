//! What users and roles grant, for delegated administration (D1, D2, D4, D8): effective
//! permissions with the scope each comes with, who is an account admin, which roles and groups
//! carry more than an actor holds, and which users a scope covers.

use std::collections::BTreeSet;

use sqlx::Row;

use super::Conn;
use super::sql::Sql;
use super::users::Reading;
use crate::ids::{AccountId, UserId};
use crate::model::Scope;

/// Which of an account's users a statement covers: a principal's scope (D8) as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seen {
    #[default]
    All,
    /// The user and everyone sharing one of their desks.
    SharingDesksWith(UserId),
    /// The user and the end users whose company is `company` (compared case-insensitively).
    CompanyOf {
        me: UserId,
        company: String,
    },
    Only(UserId),
    /// Users both cover (a route that needs two permissions, each with its scope).
    Both(Box<Seen>, Box<Seen>),
}

impl Seen {
    /// ` AND …` restricting `users u` to the covered users; empty for `All`. Written for a set
    /// (counts, mass actions): the desks' members are gathered once.
    pub fn users_sql(&self) -> Sql {
        self.users_sql_for(false)
    }

    /// The same restriction written for a page, which checks users one by one in login order
    /// and stops after a page: one indexed lookup per user checked, where gathering a desk's
    /// members first would read all of them (100,000 at a million users) for every page.
    pub fn users_sql_per_row(&self) -> Sql {
        self.users_sql_for(true)
    }

    fn users_sql_for(&self, per_row: bool) -> Sql {
        let mut sql = Sql::default();
        match self {
            Seen::All => {}
            // One EXISTS without an OR around it: PostgreSQL turns `u.id = me OR EXISTS …` into
            // a hash of every member of the desks (100,000 at a million users) built for each
            // page; a UNION inside EXISTS stays a per-row probe on both engines. The caller's own
            // desks are read once per statement (the uncorrelated IN).
            Seen::SharingDesksWith(me) if per_row => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM user_desks b WHERE b.user_id = u.id AND b.desk_id IN \
                     (SELECT a.desk_id FROM user_desks a WHERE a.user_id = ",
                );
                sql.bind(me.0).push(") UNION ALL SELECT 1 WHERE u.id = ").bind(me.0).push(")");
            }
            Seen::SharingDesksWith(me) => {
                sql.push(" AND (u.id = ").bind(me.0).push(
                    " OR u.id IN (SELECT b.user_id FROM user_desks a JOIN user_desks b ON b.desk_id = a.desk_id WHERE a.user_id = ",
                );
                sql.bind(me.0).push("))");
            }
            Seen::CompanyOf { me, company } => {
                sql.push(" AND (u.id = ").bind(me.0).push(" OR (u.is_end_user = ").bind(true);
                sql.push(" AND LOWER(u.company) = LOWER(").bind(company.clone()).push(")))");
            }
            Seen::Only(me) => {
                sql.push(" AND u.id = ").bind(me.0);
            }
            Seen::Both(a, b) => {
                sql.append(&a.users_sql_for(per_row)).append(&b.users_sql_for(per_row));
            }
        }
        sql
    }
}

/// A user's permissions, each with the scope of the widest role that grants it; direct
/// permissions come with the whole account.
pub async fn effective_grants(conn: &mut Conn, user: UserId) -> Result<Vec<(String, Scope)>, sqlx::Error> {
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
    pub scope: Scope,
    pub permissions: BTreeSet<String>,
}

/// The roles of the account among `ids`, with their permissions.
pub async fn roles(conn: &mut Conn, account: AccountId, ids: &[i64]) -> Result<Vec<RoleGrant>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(format!("{ROLE_GRANTS} WHERE r.account_id = "));
    sql.bind(account.0).push(" AND r.id IN (").bind_list(ids).push(") ORDER BY r.id");
    role_grants(sql.query().fetch_all(&mut *conn).await?)
}

/// A role with each of its permissions, a row each (`role_grants` folds them).
const ROLE_GRANTS: &str = "SELECT r.id, r.name, r.builtin, r.scope, rp.permission FROM roles r \
    LEFT JOIN role_permissions rp ON rp.role_id = r.id";

fn role_grants(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<RoleGrant>, sqlx::Error> {
    let mut out: Vec<RoleGrant> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get(0)?;
        if out.last().is_none_or(|r| r.id != id) {
            out.push(RoleGrant {
                id,
                name: row.try_get(1)?,
                builtin: row.try_get(2)?,
                scope: row.try_get(3)?,
                permissions: BTreeSet::new(),
            });
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
    let mut sql = Sql::new(
        "SELECT DISTINCT gr.role_id FROM group_roles gr JOIN groups g ON g.id = gr.group_id WHERE g.account_id = ",
    );
    sql.bind(account.0).push(" AND gr.group_id IN (").bind_list(groups).push(")");
    sql.query().fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect()
}

/// Every role of the account, with its permissions: one statement, kept prepared (every console
/// page of users asks it, for the reach of the viewer).
pub async fn all_roles(conn: &mut Conn, account: AccountId) -> Result<Vec<RoleGrant>, sqlx::Error> {
    let rows = sqlx::query(&format!("{ROLE_GRANTS} WHERE r.account_id = $1 ORDER BY r.id"))
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await?;
    role_grants(rows)
}

/// The desks a user is at.
pub async fn desks_of(conn: &mut Conn, user: UserId) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query("SELECT desk_id FROM user_desks WHERE user_id = $1")
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect()
}

/// `(…)`: a condition on `users u` true of the users holding more than an actor may reach:
/// platform operators, holders of a role in `beyond_roles` (directly or through a group), and
/// holders of a direct permission outside `account_wide` (what the actor holds account-wide).
///
/// Written for `reading`: a set (mass actions) gathers each kind of holder once; a page of users
/// probes each of its users instead (a supervisor's page gathered the Agent role's 9,000 holders
/// at 10,000 users, for 50 rows).
pub fn beyond_reach_sql(account_wide: &[&str], beyond_roles: &[i64], reading: Reading) -> Sql {
    // Each kind of holder as `(FROM … WHERE …)` of a subquery, and how it meets `users u`.
    let holders = |from: &str, user: &str| match reading {
        Reading::Set => format!(" OR u.id IN (SELECT {user} FROM {from} WHERE 1 = 1"),
        Reading::Page => format!(" OR EXISTS (SELECT 1 FROM {from} WHERE {user} = u.id"),
    };
    let mut sql = Sql::new("(u.is_superuser = ");
    sql.bind(true);
    if !beyond_roles.is_empty() {
        sql.push(&holders("user_roles ur", "ur.user_id"));
        sql.push(" AND ur.role_id IN (").bind_list(beyond_roles).push("))");
        sql.push(&holders("group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id", "gm.user_id"));
        sql.push(" AND gr.role_id IN (").bind_list(beyond_roles).push("))");
    }
    sql.push(&holders("user_permissions up", "up.user_id"));
    if !account_wide.is_empty() {
        sql.push(" AND up.permission NOT IN (").bind_list(account_wide).push(")");
    }
    sql.push("))");
    sql
}

/// `u.id IN (…)`: the holders of a role, directly or through a group.
pub fn role_holders_sql(role: i64) -> Sql {
    let mut sql = Sql::new("u.id IN (SELECT ur.user_id FROM user_roles ur WHERE ur.role_id = ");
    sql.bind(role).push(" UNION SELECT gm.user_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = ");
    sql.bind(role).push(")");
    sql
}

/// `u.id IN (…)`: the users at a desk.
pub fn desk_holders_sql(desk: i64) -> Sql {
    let mut sql = Sql::new("u.id IN (SELECT ud.user_id FROM user_desks ud WHERE ud.desk_id = ");
    sql.bind(desk).push(")");
    sql
}

/// `u.id IN (…)`: the members of a group.
pub fn group_holders_sql(group: i64) -> Sql {
    let mut sql = Sql::new("u.id IN (SELECT gm.user_id FROM group_members gm WHERE gm.group_id = ");
    sql.bind(group).push(")");
    sql
}

/// How many of `holders` (a condition on `users u`) the actor does not see or may not reach;
/// the actor themself aside.
pub async fn count_holders_out_of_reach(
    conn: &mut Conn,
    account: AccountId,
    holders: &Sql,
    seen: &Seen,
    beyond: &Sql,
    me: Option<UserId>,
) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM users u WHERE u.account_id = ");
    sql.bind(account.0).push(" AND ").append(holders);
    if let Some(me) = me {
        sql.push(" AND u.id <> ").bind(me.0);
    }
    sql.push(" AND (NOT (1 = 1").append(&seen.users_sql()).push(") OR ").append(beyond).push(")");
    sql.query().fetch_one(&mut *conn).await?.try_get(0)
}

/// Whether `user` is one of the admins `count_signable_admins` counts.
pub async fn is_signable_admin(conn: &mut Conn, account: AccountId, user: UserId) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        &format!(
            "SELECT 1 FROM users u WHERE u.account_id = $1 AND u.id = $2 AND u.status = 'active' AND u.password_hash IS NOT NULL \
             AND u.is_end_user = $3 AND u.is_company_supervisor = $3 AND {PASSWORD_SIGNS_IN}"
        ),
    )
    .bind(account.0)
    .bind(user.0)
    .bind(false)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some() && holds_admin_role(conn, user).await?)
}

/// The account's built-in Admin role.
pub async fn admin_role(conn: &mut Conn, account: AccountId) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM roles WHERE account_id = $1 AND builtin = 'admin'")
        .bind(account.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Takes the account's guard until the transaction ends (`accounts::guard`), so that two
/// changes that each leave one admin cannot both commit (D4).
pub async fn lock_account(conn: &mut Conn, account: AccountId) -> Result<(), sqlx::Error> {
    super::accounts::guard(conn, account).await
}

/// Whether `user` is a user of `account` that `seen` covers.
pub async fn covers(conn: &mut Conn, account: AccountId, seen: &Seen, user: UserId) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT 1 FROM users u WHERE u.account_id = ");
    sql.bind(account.0).push(" AND u.id = ").bind(user.0).append(&seen.users_sql());
    Ok(sql.query().fetch_optional(&mut *conn).await?.is_some())
}

/// D4: the account's admins who can sign in: active, with a password, holding the Admin role,
/// and not narrowed by the R40 flags (an end user's or company supervisor's rights stop at
/// themself or their company).
pub async fn count_signable_admins(conn: &mut Conn, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND u.status = 'active' AND u.password_hash IS NOT NULL \
             AND u.is_end_user = $2 AND u.is_company_supervisor = $2 AND {PASSWORD_SIGNS_IN} AND u.id IN ({ADMINS})"
    ))
    .bind(account.0)
    .bind(false)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// The account's admins who sign in with a password whatever the account says (`kept`: its
/// break-glass admins), active.
pub async fn count_admins_keeping_passwords(conn: &mut Conn, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND u.status = 'active' AND u.password_hash IS NOT NULL \
         AND u.is_end_user = $2 AND u.is_company_supervisor = $2 AND u.password_sign_in = 'kept' AND u.id IN ({ADMINS})"
    ))
    .bind(account.0)
    .bind(false)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// The ids of the account's (`$1`) holders of the built-in Admin role, directly or through a group.
const ADMINS: &str = "SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
     WHERE r.account_id = $1 AND r.builtin = 'admin' \
     UNION SELECT gm.user_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
     JOIN roles r ON r.id = gr.role_id WHERE r.account_id = $1 AND r.builtin = 'admin'";

/// Whether `u`'s password signs them in (issue 15): theirs is kept, or follows an account that
/// allows passwords. (`TRUE` is both engines' literal, SQLite's 1.)
const PASSWORD_SIGNS_IN: &str = "(u.password_sign_in = 'kept' OR (u.password_sign_in = 'account' AND EXISTS \
     (SELECT 1 FROM accounts a WHERE a.id = u.account_id AND a.password_sign_in = TRUE)))";
