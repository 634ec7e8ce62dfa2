//! Roles (R12), groups (R13), desks and skills (R15): one set of pages for the four kinds,
//! through the `catalog` service. The kind comes from the matched route.

use axum::extract::{Form, MatchedPath, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, all, first};
use crate::access::{Permission, Scope};
use crate::catalog;
use crate::catalog::service::{CatalogInput, CatalogItem, Kind};
use crate::error::{Error, FieldIssue};
use crate::state::AppState;

pub(super) const KINDS: [(&str, Kind); 4] =
    [("roles", Kind::Role), ("groups", Kind::Group), ("desks", Kind::Desk), ("skills", Kind::Skill)];

/// `/console/roles/…` → (`"roles"`, `Kind::Role`).
fn kind_of(path: &MatchedPath) -> (&'static str, Kind) {
    let segment = path.as_str().split('/').nth(2).unwrap_or_default();
    KINDS.into_iter().find(|(s, _)| *s == segment).unwrap_or(KINDS[0])
}

pub(super) fn view_permission(kind: Kind) -> Permission {
    match kind {
        Kind::Role => Permission::RolesView,
        Kind::Group => Permission::GroupsView,
        Kind::Desk => Permission::DesksView,
        Kind::Skill => Permission::SkillsView,
    }
}

fn manage_permission(kind: Kind) -> Permission {
    match kind {
        Kind::Role => Permission::RolesManage,
        Kind::Group => Permission::GroupsManage,
        Kind::Desk => Permission::DesksManage,
        Kind::Skill => Permission::SkillsManage,
    }
}

fn titles(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Role => {
            ("Roles", "Role", "Named sets of permissions. Hover a role in the users table to see its description.")
        }
        Kind::Group => ("Groups", "Group", "Sets of users; a group's roles apply to all its members."),
        Kind::Desk => ("Desks", "Desk", "Teams users are assigned to; a filter and a scope."),
        Kind::Skill => ("Skills", "Skill", "What agents can handle; assign them to users."),
    }
}

fn nav(kind: Kind) -> Nav {
    Nav::Catalog(kind)
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, view_permission(kind)).await?;
    let items = catalog::service::list(&state, kind, account.id).await.or_fail(&user)?;
    let (plural, singular, about) = titles(kind);
    let manage = user.can(manage_permission(kind));
    let columns = match kind {
        Kind::Role => 6,
        Kind::Group => 5,
        Kind::Desk | Kind::Skill => 4,
    };
    let notice = match first(&q, "notice") {
        Some("saved") => Some(format!("The {} was saved.", kind.noun())),
        Some("deleted") => Some(format!("The {} was deleted.", kind.noun())),
        _ => None,
    };
    let body = html! {
        (ui::page_head(plural, Some(about), html! {
            @if manage { a.button.primary href=(format!("/console/{slug}/new")) { "New " (singular.to_lowercase()) } }
        }))
        @if let Some(n) = &notice { (ui::alert("success", n)) }
        div.table-wrap {
            table.data {
                caption.visually-hidden { (plural) }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Description" }
                    @if kind == Kind::Role {
                        th scope="col" { "Permissions" }
                        th scope="col" { abbr title="Which users the role's holders see and manage (their scope)" { "Reaches" } }
                    }
                    @if kind == Kind::Group { th scope="col" { "Roles" } }
                    th scope="col" { "Members" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if items.is_empty() {
                        tr { td.empty colspan=(columns) { "No " (plural.to_lowercase()) " yet." } }
                    }
                    @for item in &items { (row(slug, item, manage)) }
                }
            }
        }
    };
    Ok(user.page(nav(kind), plural, body))
}

fn row(slug: &str, item: &CatalogItem, manage: bool) -> Markup {
    let filter = &slug[..slug.len() - 1];
    html! {
        tr {
            td {
                span.user-login { (item.name) }
                @if item.builtin.is_some() { " " span.tag { "Built-in" } }
            }
            td { @if item.description.is_empty() { span.muted { "—" } } @else { (item.description) } }
            @if let Some(perms) = &item.permissions {
                td { span title=(perms.join(", ")) { (perms.len()) @if perms.len() == 1 { " permission" } @else { " permissions" } } }
                td.role-scope { @let scope = item.scope.unwrap_or(Scope::Account);
                    span class=(format!("scope scope-{}", scope.as_str())) title=(scope.as_str()) { (scope.label()) } }
            }
            @if let Some(roles) = &item.roles {
                td { div.badges {
                    @for r in roles { span.badge.role { (r.name) } }
                    @if roles.is_empty() { span.muted { "—" } }
                } }
            }
            td { a href=(format!("/console/users?{filter}={}", item.id)) { (item.member_count) } }
            td.actions.nowrap {
                @if manage {
                    a.button.subtle.small href=(format!("/console/{slug}/{}/edit", item.id)) {
                        "Edit" span.visually-hidden { " " (item.name) }
                    }
                    @if item.builtin.is_none() {
                        " "
                        a.button.subtle.small.danger-text href=(format!("/console/{slug}/{}/delete", item.id)) {
                            "Delete" span.visually-hidden { " " (item.name) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, manage_permission(kind)).await?;
    let roles = role_choices(&state, &user, kind, account.id).await.or_fail(&user)?;
    let empty = Item {
        name: String::new(),
        description: String::new(),
        permissions: vec![],
        roles: vec![],
        scope: Scope::Account.as_str().to_string(),
        builtin: false,
        version: 0,
    };
    let title = format!("New {}", kind.noun());
    let offer = Offer::of(&user);
    Ok(user.page(
        nav(kind),
        &title,
        with_head(slug, kind, &title, form(slug, kind, None, &empty, &roles, &offer, &[], None)),
    ))
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, manage_permission(kind)).await?;
    let item = catalog::service::get(&state, kind, account.id, id).await.or_fail(&user)?;
    let roles = role_choices(&state, &user, kind, account.id).await.or_fail(&user)?;
    let title = format!("Edit {}", item.name);
    let values = Item::from(&item);
    let offer = Offer::of(&user);
    Ok(user.page(
        nav(kind),
        &title,
        with_head(slug, kind, &title, form(slug, kind, Some(id), &values, &roles, &offer, &[], None)),
    ))
}

fn with_head(slug: &str, kind: Kind, title: &str, form: Markup) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href=(format!("/console/{slug}")) { (titles(kind).0) } " / " span aria-current="page" { (title) }
        }
        (ui::page_head(title, None, html! {}))
        (form)
    }
}

/// What the form shows.
struct Item {
    name: String,
    description: String,
    permissions: Vec<String>,
    roles: Vec<i64>,
    scope: String,
    builtin: bool,
    version: i64,
}

/// What the viewer may give (D1): only these are offered; the service decides all the same.
struct Offer {
    permissions: Vec<Permission>,
    widest: Scope,
}

impl Offer {
    fn of(user: &ConsoleUser) -> Offer {
        Offer {
            permissions: Permission::people_permissions().filter(|p| user.can(*p)).collect(),
            widest: user.caller.scope_for(Permission::RolesManage),
        }
    }
}

impl From<&CatalogItem> for Item {
    fn from(c: &CatalogItem) -> Self {
        Item {
            name: c.name.clone(),
            description: c.description.clone(),
            permissions: c.permissions.clone().unwrap_or_default(),
            roles: c.roles.as_ref().map(|r| r.iter().map(|r| r.id).collect()).unwrap_or_default(),
            scope: c.scope.unwrap_or(Scope::Account).as_str().to_string(),
            builtin: c.builtin.is_some(),
            version: c.version,
        }
    }
}

/// The roles a group can carry (groups only): those whose every permission the viewer holds,
/// and the Admin role only for admins (D1).
async fn role_choices(
    state: &AppState,
    user: &ConsoleUser,
    kind: Kind,
    account: crate::ids::AccountId,
) -> crate::error::Result<Vec<CatalogItem>> {
    if kind != Kind::Group {
        return Ok(Vec::new());
    }
    let roles = catalog::service::list(state, Kind::Role, account).await?;
    Ok(roles
        .into_iter()
        .filter(|r| r.builtin.as_deref() != Some("admin") || user.caller.admin || user.caller.platform_operator)
        .filter(|r| r.permissions.iter().flatten().all(|p| Permission::parse(p).is_some_and(|p| user.can(p))))
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn form(
    slug: &str,
    kind: Kind,
    id: Option<i64>,
    v: &Item,
    roles: &[CatalogItem],
    offer: &Offer,
    issues: &[FieldIssue],
    top: Option<Markup>,
) -> Markup {
    let action = match id {
        Some(id) => format!("/console/{slug}/{id}/edit"),
        None => format!("/console/{slug}/new"),
    };
    let errors = |field: &str| {
        let list: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == field).collect();
        ui::field_errors(&format!("f-{field}-error"), &list)
    };
    html! {
        form #catalog-form .panel hx-post=(action) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "The " (kind.noun()) " was not saved: "
                    @for (n, i) in issues.iter().enumerate() {
                        @if n > 0 { " " }
                        (ui::label_for(&i.field)) ": " (ui::sentence(&i.message))
                    }
                }
            }
            @if id.is_some() { input type="hidden" name="version" value=(v.version); }
            div.narrow-fields {
                @if v.builtin {
                    p.muted { "A built-in role keeps its name and permissions; you can change its description." }
                    input type="hidden" name="name" value=(v.name);
                } @else {
                    (Field::new("name", "Name", &v.name).required().maxlength(80).render(issues))
                }
                (Field::new("description", "Description", &v.description)
                    .hint(if kind == Kind::Role { "Shown when pointing at the role in the users table." } else { "Optional." })
                    .render(issues))
            }
            @if kind == Kind::Role {
                fieldset.checklist #f-permissions {
                    legend { "Permissions" }
                    div.checklist-items.permissions {
                        @for p in offer.permissions.iter().copied() {
                            div.check {
                                input type="checkbox" id=(format!("f-perm-{}", p.as_str())) name="permissions" value=(p.as_str())
                                    checked[v.permissions.iter().any(|x| x == p.as_str())] disabled[v.builtin];
                                label for=(format!("f-perm-{}", p.as_str())) { code { (p.as_str()) } span.desc { (p.description()) } }
                            }
                        }
                    }
                    (errors("permissions"))
                }
                div.narrow-fields {
                    div.field {
                        label for="f-scope" { "Reaches" }
                        select #f-scope name="scope" disabled[v.builtin] aria-describedby="f-scope-hint" {
                            @for s in Scope::ALL.into_iter().filter(|s| *s <= offer.widest || v.scope == s.as_str()) {
                                option value=(s.as_str()) selected[v.scope == s.as_str()] { (s.label()) }
                            }
                        }
                        p.hint #f-scope-hint { "Which users the role's holders see and manage: the whole account, the users of their desks, the end users of their company, or only themselves." }
                        (errors("scope"))
                    }
                }
            }
            @if kind == Kind::Group {
                fieldset.checklist #f-roles {
                    legend { "Roles its members get" }
                    div.checklist-items {
                        @for r in roles {
                            div.check {
                                input type="checkbox" id=(format!("f-roles-{}", r.id)) name="roles" value=(r.id) checked[v.roles.contains(&r.id)];
                                label for=(format!("f-roles-{}", r.id)) {
                                    (r.name) @if !r.description.is_empty() { span.desc { (r.description) } }
                                }
                            }
                        }
                    }
                    (errors("roles"))
                }
            }
            div.form-actions {
                button.button.primary type="submit" { @if id.is_some() { "Save changes" } @else { "Create " (kind.noun()) } }
                a.button.subtle href=(format!("/console/{slug}")) { "Cancel" }
            }
        }
    }
}

fn item_from_form(kind: Kind, form: &Pairs) -> Item {
    Item {
        name: first(form, "name").unwrap_or_default().to_string(),
        description: first(form, "description").unwrap_or_default().to_string(),
        permissions: if kind == Kind::Role { all(form, "permissions").map(str::to_string).collect() } else { vec![] },
        roles: if kind == Kind::Group { all(form, "roles").filter_map(|r| r.parse().ok()).collect() } else { vec![] },
        scope: first(form, "scope").unwrap_or("account").to_string(),
        builtin: false,
        version: first(form, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
    }
}

pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
    id: Option<Path<i64>>,
    Form(form_data): Form<Pairs>,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, manage_permission(kind)).await?;
    let id = id.map(|Path(id)| id);
    let mut v = item_from_form(kind, &form_data);
    let current = match id {
        Some(id) => Some(catalog::service::get(&state, kind, account.id, id).await.or_fail(&user)?),
        None => None,
    };
    v.builtin = current.as_ref().is_some_and(|c| c.builtin.is_some());
    // A built-in role's permissions and scope are shown disabled, so not sent: shown again as they are.
    if let (true, Some(c)) = (v.builtin, &current) {
        let stored = Item::from(c);
        v.permissions = stored.permissions;
        v.scope = stored.scope;
    }
    let input = CatalogInput {
        name: Some(v.name.trim().to_string()),
        description: Some(v.description.trim().to_string()),
        permissions: (kind == Kind::Role && !v.builtin).then(|| v.permissions.clone()),
        roles: (kind == Kind::Group).then(|| v.roles.clone()),
        scope: (kind == Kind::Role && !v.builtin).then(|| v.scope.clone()),
    };
    let principal = user.principal(&account, manage_permission(kind));
    let result = match id {
        Some(id) => catalog::service::update(&state, &principal, kind, id, v.version, input).await,
        None => catalog::service::create(&state, &principal, kind, input).await,
    };
    let (issues, top) = match result {
        Ok(_) => return Ok(go(user.htmx, &format!("/console/{slug}?notice=saved"))),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => (err.field_issues(), None),
        Err(Error::PreconditionFailed) => {
            (Vec::new(), Some(ui::alert("error", "Someone else changed this; reload the page to see their change.")))
        }
        Err(err) => return Err(user.fail(err)),
    };
    let roles = role_choices(&state, &user, kind, account.id).await.or_fail(&user)?;
    let offer = Offer::of(&user);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form(slug, kind, id, &v, &roles, &offer, &issues, top)).into_response())
}

pub(super) async fn delete_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, manage_permission(kind)).await?;
    let item = catalog::service::get(&state, kind, account.id, id).await.or_fail(&user)?;
    let title = format!("Delete {}", item.name);
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href=(format!("/console/{slug}")) { (titles(kind).0) } " / " span aria-current="page" { (title) }
        }
        section.panel.narrow.danger-zone aria-labelledby="delete-title" {
            h1 #delete-title { "Delete the " (kind.noun()) " " (item.name) "?" }
            @if item.builtin.is_some() {
                (ui::alert("error", "Built-in roles cannot be deleted."))
            } @else {
                p {
                    @if item.member_count > 0 {
                        (item.member_count) @if item.member_count == 1 { " user is" } @else { " users are" }
                        " assigned to it and will lose it. "
                    }
                    strong { "This cannot be undone." }
                }
                form hx-post=(format!("/console/{slug}/{id}/delete")) {
                    div.form-actions {
                        button.button.danger type="submit" { "Delete " (item.name) }
                        a.button.subtle href=(format!("/console/{slug}")) { "Cancel" }
                    }
                }
            }
        }
    };
    Ok(user.page(nav(kind), &title, body))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    path: MatchedPath,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let (slug, kind) = kind_of(&path);
    let account = user.allow(&state, manage_permission(kind)).await?;
    catalog::service::delete(&state, &user.principal(&account, manage_permission(kind)), kind, id)
        .await
        .or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/{slug}?notice=deleted")))
}
