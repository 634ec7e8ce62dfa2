//! Delegated administration (DESIGN "Delegated administration", D1–D4, D8): who acts, and
//! what they may give and reach. Every service that changes or reads users takes a
//! `Principal`, so the API, the console, bulk actions, import and the CLI decide alike; a
//! handler only names the permission its route needs.
//!
//! A permission is held *with a scope* (D8): whom it reaches. So "holding" a permission, for
//! giving it (D1) or for reaching someone who has it (D2), means holding it at least as widely:
//!
//! - a role that reaches others (scope wider than `self`) or a direct permission (which reaches
//!   the account) is given only by someone who holds each of its permissions account-wide;
//! - a user is reached only by someone who holds each of that user's permissions at least as
//!   widely: account-wide, or both at `desks` with the user's desks among the actor's, or both at
//!   `company` in the same company; what reaches only its holder (`self`) needs the permission
//!   alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Permission, Scope};
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::model::activity::Actor;
use crate::model::user::{Assignments, UserRecord};
use crate::model::{Caller, ClientInfo};
use crate::store::Conn;
use crate::store::grants::{self, RoleGrant, Seen};
use crate::store::sql::Sql;
use crate::store::user_index::AccountCatalog;
use crate::store::users as users_store;

/// The one who acts in an account: a signed-in user, an API token, or the system (CLI).
#[derive(Debug, Clone)]
pub struct Principal {
    /// As recorded in the activity log; `actor.account` is the account acted in.
    pub actor: Actor,
    pub api_token: Option<i64>,
    pub permissions: Arc<BTreeSet<Permission>>,
    /// The scope each permission is held with.
    pub scopes: Arc<BTreeMap<Permission, Scope>>,
    pub platform_operator: bool,
    /// Holds the built-in Admin role (a token: its creator does, and it carries every
    /// account permission).
    pub admin: bool,
    /// Which users this principal sees with the permission the route needs (D8).
    pub scope: Scope,
    /// The principal's company, for `Scope::Company`.
    pub company: Option<String>,
}

/// What a principal's grants are, kept with a session: each permission with its scope.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub permissions: BTreeSet<Permission>,
    pub scopes: BTreeMap<Permission, Scope>,
    pub admin: bool,
}

impl Grants {
    /// From `(permission, scope)` rows: the widest scope of each permission, capped by the
    /// user's R40 flags.
    pub fn from_rows(rows: &[(String, Scope)], cap: Scope) -> Grants {
        let mut grants = Grants::default();
        for (name, scope) in rows {
            let Some(permission) = Permission::parse(name) else { continue };
            let scope = (*scope).min(cap);
            grants.permissions.insert(permission);
            let entry = grants.scopes.entry(permission).or_insert(scope);
            *entry = (*entry).max(scope);
        }
        grants
    }
}

/// What a user holds, which decides who may change them (D2).
#[derive(Debug, Clone, Default)]
pub struct Holds {
    /// Whose holdings these are (`None` in unit tests of the comparison alone).
    pub user: Option<UserId>,
    /// Each permission with the scope it reaches (after the R40 cap).
    pub scopes: BTreeMap<String, Scope>,
    pub admin: bool,
    pub platform_operator: bool,
    pub desks: BTreeSet<i64>,
    pub company: Option<String>,
}

/// A user the principal may change.
pub struct Target {
    pub record: UserRecord,
    pub holds: Holds,
}

/// Where the principal stands, for comparing scopes: their desks (their company is the one read with their session).
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub desks: BTreeSet<i64>,
}

impl Principal {
    pub fn account(&self) -> AccountId {
        self.actor.account
    }

    pub fn user(&self) -> Option<UserId> {
        self.actor.user
    }

    pub fn is(&self, user: UserId) -> bool {
        self.actor.user == Some(user)
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.platform_operator || (!permission.is_platform() && self.permissions.contains(&permission))
    }

    /// The scope `permission` is held with (`self` when it is not held).
    pub fn scope_of(&self, permission: Permission) -> Scope {
        match self.platform_operator {
            true => Scope::Account,
            false => self.scopes.get(&permission).copied().unwrap_or(Scope::Own),
        }
    }

    fn holds_account_wide(&self, permission: Permission) -> bool {
        self.has(permission) && self.scope_of(permission) == Scope::Account
    }

    /// The users this principal sees (D8), as the store applies it.
    pub fn seen(&self) -> Seen {
        self.seen_with(self.scope)
    }

    /// The users the principal sees with `permission` (for routes that need two).
    pub fn seen_for(&self, permission: Permission) -> Seen {
        self.seen_with(self.scope_of(permission))
    }

    /// Whether any permission is held with `scope` (what one's desks or company bound).
    pub fn holds_any_with(&self, scope: Scope) -> bool {
        !self.platform_operator && self.scopes.values().any(|s| *s == scope)
    }

    fn seen_with(&self, scope: Scope) -> Seen {
        let Some(me) = self.actor.user else { return Seen::All };
        match scope {
            Scope::Account => Seen::All,
            Scope::Desks => Seen::SharingDesksWith(me),
            Scope::Company => match self.company.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                Some(company) => Seen::CompanyOf { me, company: company.to_string() },
                None => Seen::Only(me),
            },
            Scope::Own => Seen::Only(me),
        }
    }

    /// D3: the admin routes do not change one's own `what`; My Account does, with the password.
    pub fn refuse_self(&self, user: UserId, field: &str, what: &str) -> Result<()> {
        if self.is(user) {
            return Err(Error::invalid(
                field,
                "self",
                format!(
                    "you cannot change your own {what} here; use My Account (/api/v1/me), which asks for your password"
                ),
            ));
        }
        Ok(())
    }

    /// D1 for direct permissions, which reach the whole account: each held account-wide.
    pub fn may_give<'a>(&self, field: &str, permissions: impl IntoIterator<Item = &'a str>) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        let missing: BTreeSet<&str> = permissions
            .into_iter()
            .filter(|p| Permission::parse(p).is_none_or(|p| !self.holds_account_wide(p)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let list: Vec<&str> = missing.into_iter().collect();
        Err(Error::Forbidden(format!(
            "{field}: you cannot give permissions you do not hold for the whole account yourself ({})",
            list.join(", ")
        )))
    }

    /// D1 for a role with these permissions and scope: the Admin role only by an admin; a role
    /// that reaches only its holder needs its permissions held; one that reaches others needs
    /// them held account-wide.
    pub fn may_give_role(
        &self,
        field: &str,
        builtin: Option<&str>,
        scope: Scope,
        permissions: &BTreeSet<String>,
    ) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        if builtin == Some("admin") && !self.admin {
            return Err(Error::Forbidden(format!("{field}: only an account admin can give the Admin role")));
        }
        let lacking: Vec<&str> = permissions
            .iter()
            .map(String::as_str)
            .filter(|p| match Permission::parse(p) {
                None => true,
                Some(p) if scope == Scope::Own => !self.has(p),
                Some(p) => !self.holds_account_wide(p),
            })
            .collect();
        if lacking.is_empty() {
            return Ok(());
        }
        Err(Error::Forbidden(match scope {
            Scope::Own => {
                format!("{field}: you cannot give permissions you do not hold yourself ({})", lacking.join(", "))
            }
            _ => format!(
                "{field}: a role that reaches others ({}) needs its permissions held for the whole account, and you do not hold {} so",
                scope.as_str(),
                lacking.join(", ")
            ),
        }))
    }

    pub fn may_give_roles(&self, field: &str, roles: &[RoleGrant]) -> Result<()> {
        for role in roles {
            self.may_give_role(field, role.builtin.as_deref(), role.scope, &role.permissions)?;
        }
        Ok(())
    }

    /// D2: the principal reaches `target` only if it holds everything the target holds at
    /// least as widely; admins are reached only by admins, platform operators only by platform
    /// operators.
    pub fn may_reach(&self, target: &Holds, me: &Standing) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        // A person reaches themself (what they may change of themself is D3's to say); a
        // token holds less than its maker, so it does not reach them.
        if let (Some(user), None) = (target.user, self.api_token)
            && self.is(user)
        {
            return Ok(());
        }
        if target.platform_operator {
            return Err(Error::Forbidden("only a platform operator can change a platform operator".into()));
        }
        if target.admin && !self.admin {
            return Err(Error::Forbidden("only an account admin can change an account admin".into()));
        }
        let beyond: Vec<&str> = target
            .scopes
            .iter()
            .filter(|(p, theirs)| match Permission::parse(p) {
                None => false,
                Some(p) if !self.has(p) => true,
                Some(p) => !self.covers(self.scope_of(p), **theirs, target, me),
            })
            .map(|(p, _)| p.as_str())
            .collect();
        if !beyond.is_empty() {
            return Err(Error::Forbidden(format!(
                "this user holds permissions you do not, or holds them more widely than you ({}), so you cannot change them",
                beyond.join(", ")
            )));
        }
        Ok(())
    }

    /// Whether what `mine` reaches includes what `theirs` reaches for the target.
    fn covers(&self, mine: Scope, theirs: Scope, target: &Holds, me: &Standing) -> bool {
        match (mine, theirs) {
            (Scope::Account, _) | (_, Scope::Own) => true,
            (Scope::Desks, Scope::Desks) => target.desks.is_subset(&me.desks),
            (Scope::Company, Scope::Company) => {
                let key = |c: &Option<String>| company_key(c.as_deref());
                key(&self.company).is_some() && key(&self.company) == key(&target.company)
            }
            _ => false,
        }
    }
}

/// A company as scopes compare it: trimmed, ASCII letters in lower case (as SQLite's `LOWER`,
/// which the store uses on both engines), empty as none.
pub fn company_key(company: Option<&str>) -> Option<String> {
    company.map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty())
}

/// A user of `account` acting outside a request (the CLI's `--as`): their grants as a session
/// would carry them, with the scope of `permission`.
pub async fn of_user(conn: &mut Conn, account: AccountId, login: &str, permission: Permission) -> Result<Principal> {
    let not_found = || Error::invalid("as", "unknown_login", format!("no user {login:?} in this account"));
    let id = users_store::find_id_by_login(conn, account, &login.to_ascii_lowercase()).await?.ok_or_else(not_found)?;
    let user = users_store::get(conn, account, id).await?.ok_or_else(not_found)?;
    if user.status != crate::model::user::UserStatus::Active {
        return Err(Error::invalid("as", "not_active", format!("{login} is not active")));
    }
    let rows = grants::effective_grants(conn, id).await?;
    let granted = Grants::from_rows(&rows, Scope::cap_for(user.is_end_user, user.is_company_supervisor));
    let admin = grants::holds_admin_role(conn, id).await? || user.is_superuser;
    let scope = match user.is_superuser {
        true => Scope::Account,
        false => granted.scopes.get(&permission).copied().unwrap_or(Scope::Own),
    };
    Ok(Principal {
        actor: Actor { account, user: Some(id), label: user.login.clone(), address: None },
        api_token: None,
        permissions: Arc::new(granted.permissions),
        scopes: Arc::new(granted.scopes),
        platform_operator: user.is_superuser,
        admin,
        scope,
        company: user.company.clone(),
    })
}

/// A user of the principal's account that the principal sees (D8); others are 404, as another
/// account's users are.
pub async fn seen_user(conn: &mut Conn, principal: &Principal, id: UserId) -> Result<UserRecord> {
    let record = users_store::get(conn, principal.account(), id).await?.ok_or(Error::NotFound("user"))?;
    let seen = principal.seen();
    if seen != Seen::All && !grants::covers(conn, principal.account(), &seen, id).await? {
        return Err(Error::NotFound("user"));
    }
    Ok(record)
}

/// A user the principal sees and may change (D2, D8).
pub async fn reachable_user(conn: &mut Conn, principal: &Principal, id: UserId) -> Result<Target> {
    let record = seen_user(conn, principal, id).await?;
    let holds = holds(conn, &record).await?;
    principal.may_reach(&holds, &standing(conn, principal).await?)?;
    Ok(Target { record, holds })
}

/// D1, D2 after a change is written (in its transaction): the user as changed must still be
/// within the principal's reach, so that no change of roles, flags, desks or company gives
/// them more than the principal has.
pub async fn still_reachable(conn: &mut Conn, principal: &Principal, id: UserId, before: &Standing) -> Result<()> {
    let Some(record) = users_store::get(conn, principal.account(), id).await? else { return Ok(()) };
    let mut holds = holds(conn, &record).await?;
    // Compared with where the principal stood before the change, so that one cannot widen
    // one's own reach by changing oneself.
    holds.user = None;
    principal.may_reach(&holds, before).map_err(|e| match e {
        Error::Forbidden(why) => Error::Forbidden(format!("this change would put the user beyond your reach: {why}")),
        other => other,
    })
}

/// What `user` holds now (read inside the transaction that changes them).
pub async fn holds(conn: &mut Conn, user: &UserRecord) -> Result<Holds> {
    let rows = grants::effective_grants(conn, user.id).await?;
    let granted = Grants::from_rows(&rows, Scope::cap_for(user.is_end_user, user.is_company_supervisor));
    let scopes = granted.scopes.into_iter().map(|(p, s)| (p.as_str().to_string(), s)).collect();
    let admin = grants::holds_admin_role(conn, user.id).await?;
    let desks = grants::desks_of(conn, user.id).await?.into_iter().collect();
    Ok(Holds {
        user: Some(user.id),
        scopes,
        admin,
        platform_operator: user.is_superuser,
        desks,
        company: user.company.clone(),
    })
}

/// Where the principal stands now (read before a change, for `still_reachable`).
pub async fn standing(conn: &mut Conn, principal: &Principal) -> Result<Standing> {
    let desks = match principal.user() {
        Some(me) => grants::desks_of(conn, me).await?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    Ok(Standing { desks })
}

/// D8 before a user exists: whether a user with these desks, flag and company would be one the
/// principal sees.
pub async fn would_see(
    conn: &mut Conn,
    principal: &Principal,
    desks: &[i64],
    is_end_user: bool,
    company: Option<&str>,
) -> Result<bool> {
    let key = company_key;
    Ok(match principal.seen() {
        Seen::All => true,
        Seen::Only(_) | Seen::Both(..) => false,
        Seen::CompanyOf { company: mine, .. } => is_end_user && key(company) == key(Some(&mine)),
        Seen::SharingDesksWith(me) => {
            let mine: BTreeSet<i64> = grants::desks_of(conn, me).await?.into_iter().collect();
            desks.iter().any(|d| mine.contains(d))
        }
    })
}

/// D1 for what a user would be given: roles, groups (through the roles they carry) and
/// direct permissions; `None` leaves that part as it is.
pub async fn may_assign(
    conn: &mut Conn,
    principal: &Principal,
    roles: Option<&[i64]>,
    groups: Option<&[i64]>,
    permissions: Option<&[String]>,
) -> Result<()> {
    if principal.platform_operator {
        return Ok(());
    }
    let account = principal.account();
    if let Some(roles) = roles {
        principal.may_give_roles("roles", &grants::roles(conn, account, roles).await?)?;
    }
    if let Some(groups) = groups {
        let carried = grants::roles_of_groups(conn, account, groups).await?;
        principal.may_give_roles("groups", &grants::roles(conn, account, &carried).await?)?;
    }
    if let Some(permissions) = permissions {
        principal.may_give("permissions", permissions.iter().map(String::as_str))?;
    }
    Ok(())
}

/// Who is beyond a principal's reach (D2), decided from the account's roles: platform operators,
/// holders of a role the principal may not give (directly or through a group), and holders of a
/// direct permission the principal does not hold account-wide. It errs on the safe side where
/// the exact rule needs a user's desks: a holder of a role that reaches others is beyond anyone
/// who does not hold its permissions account-wide.
#[derive(Debug)]
pub struct Beyond {
    /// A platform operator reaches everyone.
    nobody: bool,
    roles: BTreeSet<i64>,
    account_wide: BTreeSet<&'static str>,
    /// A person is within their own reach (what they may do to themself is D3's to say); a
    /// token holds less than its maker, so its maker is not.
    me: Option<UserId>,
}

impl Beyond {
    pub fn of(principal: &Principal, roles: &[RoleGrant]) -> Beyond {
        let roles = match principal.platform_operator {
            true => BTreeSet::new(),
            false => roles
                .iter()
                .filter(|r| principal.may_give_role("roles", r.builtin.as_deref(), r.scope, &r.permissions).is_err())
                .map(|r| r.id)
                .collect(),
        };
        Beyond {
            nobody: principal.platform_operator,
            roles,
            account_wide: Permission::account_permissions()
                .filter(|p| principal.holds_account_wide(*p))
                .map(Permission::as_str)
                .collect(),
            me: principal.user().filter(|_| principal.api_token.is_none()),
        }
    }

    /// Whether one user is beyond; `catalog` gives the roles each of their groups carries.
    pub fn holds(&self, user: &UserRecord, links: &Assignments, catalog: &AccountCatalog) -> bool {
        if self.nobody || self.me == Some(user.id) {
            return false;
        }
        user.is_superuser
            || links.roles.iter().any(|r| self.roles.contains(&r.id))
            || links.groups.iter().any(|g| catalog.roles_of_group(g.id).iter().any(|r| self.roles.contains(r)))
            || links.permissions.iter().any(|p| !self.account_wide.contains(p.as_str()))
    }

    /// `(…)`: the same as a condition on `users u`, for set-based work (mass actions, the holders
    /// of a role) and the pages that read users from the database.
    fn sql(&self, reading: users_store::Reading) -> Sql {
        if self.nobody {
            return Sql::new("(1 = 0)");
        }
        let roles: Vec<i64> = self.roles.iter().copied().collect();
        let account_wide: Vec<&str> = self.account_wide.iter().copied().collect();
        let beyond = grants::beyond_reach_sql(&account_wide, &roles, reading);
        match self.me {
            Some(me) => {
                let mut sql = Sql::new("(");
                sql.append(&beyond).push(" AND u.id <> ").bind(me.0).push(")");
                sql
            }
            None => beyond,
        }
    }
}

/// `(…)`: a condition on `users u` true of the users beyond the principal's reach ([`Beyond`]).
pub async fn beyond_reach_sql(conn: &mut Conn, principal: &Principal, reading: users_store::Reading) -> Result<Sql> {
    if principal.platform_operator {
        return Ok(Sql::new("(1 = 0)"));
    }
    let roles = grants::all_roles(conn, principal.account()).await?;
    Ok(Beyond::of(principal, &roles).sql(reading))
}

/// D2 for a role or group's holders: a change of what it grants changes every holder, so each
/// must be seen and reachable (the principal themself aside).
pub async fn may_change_holders(conn: &mut Conn, principal: &Principal, holders: &Sql, what: &str) -> Result<()> {
    if principal.platform_operator {
        return Ok(());
    }
    let beyond = beyond_reach_sql(conn, principal, users_store::Reading::Set).await?;
    let me = principal.user().filter(|_| principal.api_token.is_none());
    let count =
        grants::count_holders_out_of_reach(conn, principal.account(), holders, &principal.seen(), &beyond, me).await?;
    if count > 0 {
        return Err(Error::Forbidden(format!(
            "{count} user(s) holding this {what} are outside your reach, so you cannot change what it grants"
        )));
    }
    Ok(())
}

/// D4: the number of admins who can sign in, counted with the account locked against other
/// such changes until this transaction ends.
pub async fn admins_before(conn: &mut Conn, account: AccountId) -> Result<i64> {
    grants::lock_account(conn, account).await?;
    Ok(grants::count_signable_admins(conn, account).await?)
}

/// D4: the change just written (in this transaction) must leave the account an admin who can
/// sign in, if it had one before.
pub async fn keep_an_admin(conn: &mut Conn, account: AccountId, before: i64) -> Result<()> {
    if before > 0 && grants::count_signable_admins(conn, account).await? == 0 {
        return Err(last_admin());
    }
    Ok(())
}

pub fn last_admin() -> Error {
    Error::LastAdmin(
        "this would leave the account without an active admin who can sign in; make someone else an admin first".into(),
    )
}

/// Whether `user` is the account's only admin who can sign in (D4).
pub async fn is_last_admin(conn: &mut Conn, account: AccountId, user: UserId) -> Result<bool> {
    Ok(grants::is_signable_admin(conn, account, user).await?
        && grants::count_signable_admins(conn, account).await? <= 1)
}

impl Caller {
    /// The caller acting in `account` under `permission`: what the services decide from.
    pub fn principal(&self, account: AccountId, permission: Permission, client: &ClientInfo) -> Principal {
        Principal {
            actor: self.actor(client).in_account(account),
            api_token: self.api_token,
            permissions: self.permissions.clone(),
            scopes: self.scopes.clone(),
            platform_operator: self.platform_operator,
            admin: self.admin || self.platform_operator,
            scope: self.scope_for(permission),
            company: self.company.as_deref().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(perms: &[(Permission, Scope)], admin: bool) -> Principal {
        Principal {
            actor: Actor { account: AccountId(1), user: Some(UserId(7)), label: "p".into(), address: None },
            api_token: None,
            permissions: Arc::new(perms.iter().map(|(p, _)| *p).collect()),
            scopes: Arc::new(perms.iter().copied().collect()),
            platform_operator: false,
            admin,
            scope: Scope::Account,
            company: Some("Acme".into()),
        }
    }

    fn target(perms: &[(&str, Scope)], admin: bool, platform_operator: bool) -> Holds {
        Holds {
            user: None,
            scopes: perms.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
            admin,
            platform_operator,
            desks: [1].into(),
            company: Some("ACME".into()),
        }
    }

    fn set(perms: &[&str]) -> BTreeSet<String> {
        perms.iter().map(|p| p.to_string()).collect()
    }

    const EDIT: [(Permission, Scope); 2] =
        [(Permission::UsersView, Scope::Account), (Permission::UsersEdit, Scope::Account)];
    const DESK_EDIT: [(Permission, Scope); 2] =
        [(Permission::UsersView, Scope::Desks), (Permission::UsersEdit, Scope::Desks)];

    #[test]
    fn nobody_gives_what_they_do_not_hold_widely_enough() {
        let p = principal(&EDIT, false);
        assert!(p.may_give("permissions", ["users.view"]).is_ok());
        assert!(p.may_give("permissions", ["users.view", "tokens.manage"]).is_err());
        assert!(p.may_give("permissions", ["no.such"]).is_err());
        let lead = principal(&DESK_EDIT, false);
        assert!(lead.may_give("permissions", ["users.view"]).is_err(), "a direct permission reaches the account");
        assert!(lead.may_give_role("roles", None, Scope::Own, &set(&["users.view"])).is_ok());
        assert!(lead.may_give_role("roles", None, Scope::Desks, &set(&["users.view"])).is_err());
        assert!(lead.may_give_role("roles", None, Scope::Company, &set(&["users.view"])).is_err());
        assert!(
            p.may_give_role("roles", Some("admin"), Scope::Account, &set(&[])).is_err(),
            "the Admin role by admins only"
        );
    }

    #[test]
    fn reach_needs_every_permission_at_least_as_widely_and_rank() {
        let me = Standing { desks: [1, 2].into() };
        let p = principal(&EDIT, false);
        assert!(p.may_reach(&target(&[("users.view", Scope::Account)], false, false), &me).is_ok());
        assert!(p.may_reach(&target(&[("users.delete", Scope::Account)], false, false), &me).is_err());
        assert!(p.may_reach(&target(&[], true, false), &me).is_err(), "admins only by admins");
        let lead = principal(&DESK_EDIT, false);
        assert!(lead.may_reach(&target(&[("users.view", Scope::Own)], false, false), &me).is_ok());
        assert!(
            lead.may_reach(&target(&[("users.view", Scope::Desks)], false, false), &me).is_ok(),
            "desk 1 is among mine"
        );
        let elsewhere = Standing { desks: [2].into() };
        assert!(lead.may_reach(&target(&[("users.view", Scope::Desks)], false, false), &elsewhere).is_err());
        assert!(lead.may_reach(&target(&[("users.view", Scope::Account)], false, false), &me).is_err());
        assert!(
            lead.may_reach(&target(&[("users.view", Scope::Company)], false, false), &me).is_err(),
            "desks do not cover a company"
        );
        let boss = principal(&[(Permission::UsersView, Scope::Company)], false);
        assert!(
            boss.may_reach(&target(&[("users.view", Scope::Company)], false, false), &me).is_ok(),
            "the same company"
        );
        let admin =
            principal(&Permission::account_permissions().map(|p| (p, Scope::Account)).collect::<Vec<_>>(), true);
        assert!(admin.may_reach(&target(&[("users.view", Scope::Account)], true, false), &me).is_ok());
        assert!(admin.may_reach(&target(&[], false, true), &me).is_err(), "operators only by operators");
    }

    #[test]
    fn grants_keep_the_widest_scope_under_the_cap() {
        let rows = vec![
            ("users.view".to_string(), Scope::Desks),
            ("users.view".to_string(), Scope::Account),
            ("calls.make".to_string(), Scope::Own),
        ];
        let g = Grants::from_rows(&rows, Scope::Account);
        assert_eq!(g.scopes[&Permission::UsersView], Scope::Account);
        let capped = Grants::from_rows(&rows, Scope::Company);
        assert_eq!(capped.scopes[&Permission::UsersView], Scope::Company);
        assert_eq!(capped.scopes[&Permission::CallsMake], Scope::Own);
    }
}
