//! The catalog's rules (R12–R16): roles, groups, desks and skills, created, changed and deleted
//! within what the principal may give (D1).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Permission;
use crate::access::Scope;
use crate::access::principal::{self, Principal};
use crate::activity::{self, Changes, Target};
use crate::clock::{now_ms, to_rfc3339};
use crate::domain::{Description, EntityName};
use crate::error::{Error, Issues, Result};
use crate::http::{CursorOf, Page};
use crate::ids::AccountId;
use crate::model::user::Ref;
use crate::state::AppState;
use crate::store::named::{self, NamedRecord};
use crate::store::user_index::AccountCatalog;
use crate::store::users::Link;
use crate::store::{Conn, grants};

/// Which kind of named thing a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Role,
    Group,
    Desk,
    Skill,
}

impl Kind {
    pub fn link(self) -> Link {
        match self {
            Kind::Role => Link::Roles,
            Kind::Group => Link::Groups,
            Kind::Desk => Link::Desks,
            Kind::Skill => Link::Skills,
        }
    }

    fn cursor(self) -> CursorOf {
        match self {
            Kind::Role => CursorOf::Roles,
            Kind::Group => CursorOf::Groups,
            Kind::Desk => CursorOf::Desks,
            Kind::Skill => CursorOf::Skills,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::Group => "group",
            Kind::Desk => "desk",
            Kind::Skill => "skill",
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogInput {
    /// 1–80 characters, unique in the account (case-insensitive).
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// Shown on hover in the console (roles). At most 500 characters; line breaks are the only
    /// control characters it may hold.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Roles only: permission names (see `GET /api/v1/permissions`).
    pub permissions: Option<Vec<String>>,
    /// Groups only: ids of the roles the group gives its members.
    pub roles: Option<Vec<i64>>,
    /// Roles only: whom the role's holders reach (D8): `account` (default), `desks` (users
    /// sharing one of their desks), `company` (end users of their company), `self`.
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogItem {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Roles: the built-in role this is (`admin`, `supervisor`, `agent`, `financial`); built-ins cannot be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// Roles only: whom the role's holders reach (D8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Users assigned directly.
    pub member_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Ref>>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

async fn item(conn: &mut Conn, kind: Kind, r: NamedRecord) -> Result<CatalogItem> {
    let permissions = match kind {
        Kind::Role => Some(named::role_permissions(conn, r.id).await?),
        _ => None,
    };
    let roles = match kind {
        Kind::Group => Some(
            named::group_roles(conn, r.id)
                .await?
                .into_iter()
                .map(|(id, name)| Ref { id, name, description: None })
                .collect(),
        ),
        _ => None,
    };
    Ok(CatalogItem {
        id: r.id,
        name: r.name,
        description: r.description,
        builtin: r.builtin,
        scope: r.scope,
        member_count: r.member_count,
        permissions,
        roles,
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
        version: r.version,
    })
}

pub async fn list(state: &AppState, kind: Kind, account: AccountId) -> Result<Vec<CatalogItem>> {
    let mut conn = state.store.read().await?;
    let mut out = Vec::new();
    for r in named::list(&mut conn, kind.link(), account).await? {
        out.push(item(&mut conn, kind, r).await?);
    }
    Ok(out)
}

/// One page of the account's items of `kind`, in name order (the API's list).
pub async fn page(
    state: &AppState,
    kind: Kind,
    account: AccountId,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<CatalogItem>> {
    let after = cursor.filter(|c| !c.is_empty()).map(|c| crate::http::decode_cursor(kind.cursor(), c)).transpose()?;
    let mut conn = state.store.read().await?;
    let rows = named::page(&mut conn, kind.link(), account, after.as_deref(), limit + 1).await?;
    let page = Page::of(rows, limit, |r| crate::http::encode_cursor(kind.cursor(), &r.name_key));
    let mut items = Vec::with_capacity(page.items.len());
    for r in page.items {
        items.push(item(&mut conn, kind, r).await?);
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

pub async fn get(state: &AppState, kind: Kind, account: AccountId, id: i64) -> Result<CatalogItem> {
    let mut conn = state.store.read().await?;
    let r = named::get(&mut conn, kind.link(), account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    item(&mut conn, kind, r).await
}

struct Parsed {
    name: Option<EntityName>,
    description: Option<Description>,
    permissions: Option<Vec<&'static str>>,
    roles: Option<Vec<i64>>,
    scope: Option<Scope>,
}

fn parse(kind: Kind, input: &CatalogInput, creating: bool) -> Result<Parsed> {
    let mut issues = Issues::new();
    let name = match &input.name {
        Some(n) => issues.check("name", EntityName::parse(n)),
        None if creating => {
            issues.add("name", "required", "is required");
            None
        }
        None => None,
    };
    let description = input.description.as_deref().and_then(|d| issues.check("description", Description::parse(d)));
    let permissions = match (&input.permissions, kind) {
        (None, _) => None,
        (Some(list), Kind::Role) => {
            let mut out = Vec::new();
            for p in list {
                match Permission::parse(p) {
                    Some(perm) if perm.tokens_only() => issues.add(
                        "permissions",
                        "tokens_only",
                        format!("{p} is held by API tokens only, not by people"),
                    ),
                    Some(perm) if !perm.is_platform() => out.push(perm.as_str()),
                    Some(_) => {
                        issues.add("permissions", "platform_only", format!("{p} cannot be granted in an account"))
                    }
                    None => issues.add("permissions", "unknown_permission", format!("unknown permission {p:?}")),
                }
            }
            out.sort_unstable();
            out.dedup();
            Some(out)
        }
        (Some(_), _) => {
            issues.add(
                "permissions",
                "not_allowed",
                format!("a {} has no permissions; give it to a role", kind.noun()),
            );
            None
        }
    };
    let roles = match (&input.roles, kind) {
        (None, _) => None,
        (Some(ids), Kind::Group) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
        (Some(_), _) => {
            issues.add("roles", "not_allowed", format!("only groups carry roles, not a {}", kind.noun()));
            None
        }
    };
    let scope = match (&input.scope, kind) {
        (None, _) => None,
        (Some(s), Kind::Role) => issues.check("scope", Scope::parse(s.trim())),
        (Some(_), _) => {
            issues.add("scope", "not_allowed", format!("only roles have a scope, not a {}", kind.noun()));
            None
        }
    };
    issues.into_result()?;
    Ok(Parsed { name, description, permissions, roles, scope })
}

async fn check_roles(conn: &mut Conn, account: AccountId, ids: &[i64]) -> Result<Vec<String>> {
    let found = named::names(conn, Link::Roles, account, ids).await?;
    let missing: Vec<String> =
        ids.iter().filter(|i| !found.iter().any(|(f, _)| f == *i)).map(|i| i.to_string()).collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            "roles",
            "unknown_id",
            format!("no such role in this account: {}", missing.join(", ")),
        ));
    }
    Ok(found.into_iter().map(|(_, n)| n).collect())
}

/// D1, D2: a role or group is changed or deleted only by someone who could give all it grants
/// (so that nobody edits their way into, or reshapes, more than they have), and, when what it
/// grants changes, who may change every user holding it.
async fn may_manage(conn: &mut Conn, principal: &Principal, kind: Kind, id: i64, changes_grants: bool) -> Result<()> {
    let account = principal.account();
    let (roles, holders) = match kind {
        Kind::Role => (vec![id], grants::role_holders_sql(id)),
        Kind::Group => (grants::roles_of_groups(conn, account, &[id]).await?, grants::group_holders_sql(id)),
        // A desk grants nothing, but deleting it changes whom its users see and who sees them:
        // someone who manages desks only within a scope deletes one only if all its users are theirs.
        Kind::Desk
            if changes_grants && (principal.scope != Scope::Account || principal.holds_any_with(Scope::Desks)) =>
        {
            return principal::may_change_holders(conn, principal, &grants::desk_holders_sql(id), kind.noun()).await;
        }
        Kind::Desk | Kind::Skill => return Ok(()),
    };
    let held = grants::roles(conn, account, &roles).await?;
    principal.may_give_roles(kind.noun(), &held).map_err(|e| match e {
        Error::Forbidden(why) => Error::Forbidden(format!("this {} grants more than you may give: {why}", kind.noun())),
        other => other,
    })?;
    if changes_grants {
        principal::may_change_holders(conn, principal, &holders, kind.noun()).await?;
    }
    Ok(())
}

/// D1 for a role as it would be: its permissions at its scope.
fn may_make_role(principal: &Principal, scope: Scope, permissions: &[&str]) -> Result<()> {
    let set = permissions.iter().map(|p| p.to_string()).collect();
    principal.may_give_role("permissions", None, scope, &set)
}

fn target<'a>(kind: Kind, id: i64, name: &'a str) -> Target<'a> {
    Target { kind: kind.noun(), id: Some(id), label: name }
}

pub async fn create(state: &AppState, principal: &Principal, kind: Kind, input: CatalogInput) -> Result<CatalogItem> {
    let (actor, account) = (&principal.actor, principal.account());
    let p = parse(kind, &input, true)?;
    if kind == Kind::Role {
        may_make_role(principal, p.scope.unwrap_or(Scope::Account), p.permissions.as_deref().unwrap_or_default())?;
    }
    let name = p.name.expect("required when creating");
    let description = p.description.map(|d| d.as_str().to_string()).unwrap_or_default();
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let id = named::insert(conn, kind.link(), account, name.as_str(), &name.key(), &description, now_ms()).await?;
    let mut changes = Changes::new();
    changes.set("name", name.as_str()).set("description", &description);
    if let Some(perms) = &p.permissions {
        named::set_role_permissions(conn, id, perms).await?;
        changes.set("permissions", perms);
    }
    if kind == Kind::Role {
        let scope = p.scope.unwrap_or(Scope::Account);
        named::set_role_scope(conn, id, scope.as_str()).await?;
        changes.set("scope", scope.as_str());
    }
    if let Some(roles) = &p.roles {
        let names = check_roles(conn, account, roles).await?;
        principal.may_give_roles("roles", &grants::roles(conn, account, roles).await?)?;
        named::set_group_roles(conn, id, roles).await?;
        changes.set("roles", names);
    }
    activity::service::record(
        conn,
        actor,
        &format!("{}.created", kind.noun()),
        target(kind, id, name.as_str()),
        &changes,
    )
    .await?;
    let r = named::get(conn, kind.link(), account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    let out = item(conn, kind, r).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    kind: Kind,
    id: i64,
    expected_version: i64,
    input: CatalogInput,
) -> Result<CatalogItem> {
    let (actor, account) = (&principal.actor, principal.account());
    let p = parse(kind, &input, false)?;
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = named::get(conn, kind.link(), account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    if current.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let changes_scope = p.scope.is_some_and(|s| current.scope != Some(s));
    may_manage(conn, principal, kind, id, p.permissions.is_some() || changes_scope || p.roles.is_some()).await?;
    if current.builtin.is_some()
        && (p.permissions.is_some() || changes_scope || p.name.as_ref().is_some_and(|n| n.as_str() != current.name))
    {
        return Err(Error::state_conflict(
            if p.permissions.is_some() { "permissions" } else { "name" },
            "builtin",
            "a built-in role keeps its name and permissions; create a custom role instead",
        ));
    }
    if kind == Kind::Role && (p.permissions.is_some() || changes_scope) {
        let scope = p.scope.or(current.scope).unwrap_or(Scope::Account);
        let before = named::role_permissions(conn, id).await?;
        let permissions: Vec<&str> = match &p.permissions {
            Some(new) => new.clone(),
            None => before.iter().map(String::as_str).collect(),
        };
        may_make_role(principal, scope, &permissions)?;
    }
    // D4: only a group's roles carry the Admin role to its members (built-in roles are fixed).
    let admins_before = match kind == Kind::Group && p.roles.is_some() {
        true => principal::admins_before(conn, account).await?,
        false => 0,
    };
    let name = p.name.map(|n| n.as_str().to_string()).unwrap_or_else(|| current.name.clone());
    let description = p.description.map(|d| d.as_str().to_string()).unwrap_or_else(|| current.description.clone());
    let now = now_ms();
    if !named::update(conn, kind.link(), account, id, &name, &name.to_lowercase(), &description, expected_version, now)
        .await?
    {
        return Err(Error::PreconditionFailed);
    }
    let mut changes = Changes::new();
    changes.diff("name", &current.name, &name).diff("description", &current.description, &description);
    if let Some(perms) = &p.permissions {
        let before = named::role_permissions(conn, id).await?;
        named::set_role_permissions(conn, id, perms).await?;
        changes.diff("permissions", before, perms.iter().map(|s| s.to_string()).collect());
    }
    if let (Some(scope), true) = (p.scope, changes_scope) {
        named::set_role_scope(conn, id, scope.as_str()).await?;
        changes.diff("scope", current.scope, Some(scope));
    }
    if let Some(roles) = &p.roles {
        let before: Vec<String> = named::group_roles(conn, id).await?.into_iter().map(|(_, n)| n).collect();
        let names = check_roles(conn, account, roles).await?;
        principal.may_give_roles("roles", &grants::roles(conn, account, roles).await?)?;
        named::set_group_roles(conn, id, roles).await?;
        changes.diff("roles", before, names);
    }
    principal::keep_an_admin(conn, account, admins_before).await?;
    if !changes.is_empty() {
        activity::service::record(conn, actor, &format!("{}.updated", kind.noun()), target(kind, id, &name), &changes)
            .await?;
    }
    let r = named::get(conn, kind.link(), account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    let out = item(conn, kind, r).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn delete(state: &AppState, principal: &Principal, kind: Kind, id: i64) -> Result<()> {
    let (actor, account) = (&principal.actor, principal.account());
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let current = named::get(conn, kind.link(), account, id).await?.ok_or(Error::NotFound(kind.noun()))?;
    if current.builtin.is_some() {
        return Err(Error::state_conflict("id", "builtin", "built-in roles cannot be deleted"));
    }
    may_manage(conn, principal, kind, id, true).await?;
    let admins_before = match kind == Kind::Group {
        true => principal::admins_before(conn, account).await?,
        false => 0,
    };
    let mut changes = Changes::new();
    changes.set("name", &current.name).set("members", current.member_count);
    activity::service::record(
        conn,
        actor,
        &format!("{}.deleted", kind.noun()),
        target(kind, id, &current.name),
        &changes,
    )
    .await?;
    named::delete(conn, kind.link(), account, id).await?;
    principal::keep_an_admin(conn, account, admins_before).await?;
    tx.commit().await?;
    Ok(())
}

/// An account's roles, groups, desks and skills by name: what filters, forms and mass actions
/// offer to choose from. Their `member_count` is not counted (0): pickers do not show it, and
/// counting cost the console's Users page more than the rest of it at 10,000 users.
pub struct Names {
    pub roles: Vec<NamedRecord>,
    pub groups: Vec<NamedRecord>,
    pub desks: Vec<NamedRecord>,
    pub skills: Vec<NamedRecord>,
    pub queues: Vec<NamedRecord>,
}

/// The account's [`Names`], read in one go.
pub async fn names(state: &AppState, account: AccountId) -> Result<Names> {
    let catalog = kept(state, account).await?;
    Ok(Names::of(&catalog))
}

/// The account's catalog as kept in memory with its users, brought up to date first: names,
/// role grants and group roles, for pages that need them on every request.
pub async fn kept(state: &AppState, account: AccountId) -> Result<Arc<AccountCatalog>> {
    let mut conn = state.store.read().await?;
    Ok(state.store.user_index().catalog(&mut conn, account).await?)
}

impl Names {
    pub fn of(catalog: &AccountCatalog) -> Names {
        let [roles, groups, desks, skills, queues] = catalog.names.clone();
        Names { roles, groups, desks, skills, queues }
    }
}

/// Of `roles` and `groups`, those the principal may give (D1), and those in `keep` and
/// `keep_groups` (what a user being edited holds already, so that saving a form does not drop them).
pub async fn grantable(
    state: &AppState,
    principal: &Principal,
    roles: Vec<NamedRecord>,
    groups: Vec<NamedRecord>,
    keep: &[i64],
    keep_groups: &[i64],
) -> Result<(Vec<NamedRecord>, Vec<NamedRecord>)> {
    if principal.platform_operator {
        return Ok((roles, groups));
    }
    let mut conn = state.store.read().await?;
    let account = principal.account();
    let mut given_roles = Vec::new();
    for role in roles {
        let grant = grants::roles(&mut conn, account, &[role.id]).await?;
        if keep.contains(&role.id) || principal.may_give_roles("roles", &grant).is_ok() {
            given_roles.push(role);
        }
    }
    let mut given_groups = Vec::new();
    for group in groups {
        let carried = grants::roles_of_groups(&mut conn, account, &[group.id]).await?;
        let grant = grants::roles(&mut conn, account, &carried).await?;
        if keep_groups.contains(&group.id) || principal.may_give_roles("groups", &grant).is_ok() {
            given_groups.push(group);
        }
    }
    Ok((given_roles, given_groups))
}
