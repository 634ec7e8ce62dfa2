//! Delegated administration (DESIGN "Delegated administration", D1–D4, D8): who acts, and
//! what they may give and reach. Every service that changes or reads users takes a
//! `Principal`, so the API, the console, bulk actions, import and the CLI decide alike; a
//! handler only names the permission its route needs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Permission, Scope};
use crate::activity::Actor;
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::store::Conn;
use crate::store::grants::{self, Seen};
use crate::store::users as users_store;
use crate::users::model::UserRecord;

/// The one who acts in an account: a signed-in user, an API token, or the system (CLI).
#[derive(Debug, Clone)]
pub struct Principal {
    /// As recorded in the activity log; `actor.account` is the account acted in.
    pub actor: Actor,
    pub api_token: Option<i64>,
    pub permissions: Arc<BTreeSet<Permission>>,
    pub platform_operator: bool,
    /// Holds the built-in Admin role (a token: its creator does, and it carries every
    /// account permission).
    pub admin: bool,
    /// Which users this principal reaches with the permission the route needs (D8).
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
    pub fn from_rows(rows: &[(String, String)], cap: Scope) -> Grants {
        let mut grants = Grants::default();
        for (name, scope) in rows {
            let Some(permission) = Permission::parse(name) else { continue };
            let scope = Scope::parse(scope).unwrap_or(Scope::Own).min(cap);
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
    pub permissions: BTreeSet<String>,
    pub admin: bool,
    pub platform_operator: bool,
}

/// A user the principal may change.
pub struct Target {
    pub record: UserRecord,
    pub holds: Holds,
}

impl Principal {
    /// The machine's operator at the command line: everything, in the whole account.
    pub fn system(account: AccountId, label: &str) -> Principal {
        Principal {
            actor: Actor::system(account, label),
            api_token: None,
            permissions: Arc::new(Permission::ALL.iter().copied().collect()),
            platform_operator: true,
            admin: true,
            scope: Scope::Account,
            company: None,
        }
    }

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

    /// The users this principal sees (D8), as the store applies it.
    pub fn seen(&self) -> Seen {
        let Some(me) = self.actor.user else { return Seen::All };
        match self.scope {
            Scope::Account => Seen::All,
            Scope::Desks => Seen::SharingDesksWith(me),
            Scope::Company => match self.company.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                Some(company) => Seen::CompanyOf { me, company: company.to_string() },
                None => Seen::Only(me),
            },
            Scope::Own => Seen::Only(me),
        }
    }

    /// The permissions held, as stored names.
    pub fn held(&self) -> Vec<&'static str> {
        match self.platform_operator {
            true => Permission::account_permissions().map(Permission::as_str).collect(),
            false => self.permissions.iter().map(|p| p.as_str()).collect(),
        }
    }

    /// D3: the admin routes do not change one's own `what`; My Account does, with the password.
    pub fn refuse_self(&self, user: UserId, field: &str, what: &str) -> Result<()> {
        if self.is(user) {
            return Err(Error::invalid(
                field,
                "self",
                format!("you cannot change your own {what} here; use My Account (/api/v1/me), which asks for your password"),
            ));
        }
        Ok(())
    }

    /// D1: the principal holds every permission it would give.
    pub fn may_give<'a>(&self, field: &str, permissions: impl IntoIterator<Item = &'a str>) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        let missing: BTreeSet<&str> =
            permissions.into_iter().filter(|p| Permission::parse(p).is_none_or(|p| !self.permissions.contains(&p))).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let list: Vec<&str> = missing.into_iter().collect();
        Err(Error::Forbidden(format!(
            "{field}: you cannot give permissions you do not hold yourself ({})",
            list.join(", ")
        )))
    }

    /// D1 for roles: every permission of each role, the Admin role only by an admin, and no
    /// role that reaches wider than the principal does (D8).
    pub fn may_give_roles(&self, field: &str, roles: &[grants::RoleGrant]) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        for role in roles {
            if role.builtin.as_deref() == Some("admin") && !self.admin {
                return Err(Error::Forbidden(format!("{field}: only an account admin can give the Admin role")));
            }
            self.may_give(field, role.permissions.iter().map(String::as_str))?;
            self.may_give_scope(field, Scope::parse(&role.scope).unwrap_or(Scope::Account))?;
        }
        Ok(())
    }

    /// D8: nobody makes or gives a role that reaches further than they do.
    pub fn may_give_scope(&self, field: &str, scope: Scope) -> Result<()> {
        if self.platform_operator || scope <= self.scope {
            return Ok(());
        }
        Err(Error::Forbidden(format!(
            "{field}: you reach {} ({}), so you cannot give a role that reaches {}",
            self.scope.label().to_lowercase(),
            self.scope.as_str(),
            scope.as_str()
        )))
    }

    /// D2: the principal reaches `target` only if everything the target holds is theirs too;
    /// admins are reached only by admins, platform operators only by platform operators.
    pub fn may_reach(&self, target: &Holds) -> Result<()> {
        if self.platform_operator {
            return Ok(());
        }
        if target.platform_operator {
            return Err(Error::Forbidden("only a platform operator can change a platform operator".into()));
        }
        if target.admin && !self.admin {
            return Err(Error::Forbidden("only an account admin can change an account admin".into()));
        }
        let beyond: Vec<&str> = target
            .permissions
            .iter()
            .map(String::as_str)
            .filter(|p| Permission::parse(p).is_some_and(|p| !self.permissions.contains(&p)))
            .collect();
        if !beyond.is_empty() {
            return Err(Error::Forbidden(format!(
                "this user holds permissions you do not ({}), so you cannot change them",
                beyond.join(", ")
            )));
        }
        Ok(())
    }
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
    principal.may_reach(&holds)?;
    Ok(Target { record, holds })
}

/// What `user` holds now (read inside the transaction that changes them).
pub async fn holds(conn: &mut Conn, user: &UserRecord) -> Result<Holds> {
    let permissions = grants::effective_grants(conn, user.id).await?.into_iter().map(|(p, _)| p).collect();
    let admin = grants::holds_admin_role(conn, user.id).await?;
    Ok(Holds { permissions, admin, platform_operator: user.is_superuser })
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

/// D4: the change just written (in this transaction) must leave the account an admin who can
/// sign in, if it had one before.
pub async fn keep_an_admin(conn: &mut Conn, account: AccountId, before: i64) -> Result<()> {
    if before > 0 && grants::count_signable_admins(conn, account).await? == 0 {
        return Err(Error::LastAdmin(
            "this would leave the account without an active admin who can sign in; make someone else an admin first".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(perms: &[Permission], admin: bool) -> Principal {
        Principal {
            actor: Actor { account: AccountId(1), user: Some(UserId(7)), label: "p".into(), address: None },
            api_token: None,
            permissions: Arc::new(perms.iter().copied().collect()),
            platform_operator: false,
            admin,
            scope: Scope::Account,
            company: None,
        }
    }

    fn target(perms: &[&str], admin: bool, platform_operator: bool) -> Holds {
        Holds { permissions: perms.iter().map(|p| p.to_string()).collect(), admin, platform_operator }
    }

    #[test]
    fn nobody_gives_what_they_do_not_hold() {
        let p = principal(&[Permission::UsersView, Permission::UsersEdit], false);
        assert!(p.may_give("permissions", ["users.view"]).is_ok());
        assert!(p.may_give("permissions", ["users.view", "tokens.manage"]).is_err());
        assert!(p.may_give("permissions", ["no.such"]).is_err());
    }

    #[test]
    fn reach_needs_a_superset_and_rank() {
        let p = principal(&[Permission::UsersView, Permission::UsersEdit], false);
        assert!(p.may_reach(&target(&["users.view"], false, false)).is_ok());
        assert!(p.may_reach(&target(&["users.view", "users.delete"], false, false)).is_err());
        assert!(p.may_reach(&target(&[], true, false)).is_err(), "admins only by admins");
        let admin = principal(&Permission::account_permissions().collect::<Vec<_>>(), true);
        assert!(admin.may_reach(&target(&["users.view"], true, false)).is_ok());
        assert!(admin.may_reach(&target(&[], false, true)).is_err(), "operators only by operators");
    }

    #[test]
    fn grants_keep_the_widest_scope_under_the_cap() {
        let rows = vec![
            ("users.view".to_string(), "desks".to_string()),
            ("users.view".to_string(), "account".to_string()),
            ("calls.make".to_string(), "self".to_string()),
        ];
        let g = Grants::from_rows(&rows, Scope::Account);
        assert_eq!(g.scopes[&Permission::UsersView], Scope::Account);
        let capped = Grants::from_rows(&rows, Scope::Company);
        assert_eq!(capped.scopes[&Permission::UsersView], Scope::Company);
        assert_eq!(capped.scopes[&Permission::CallsMake], Scope::Own);
    }
}
