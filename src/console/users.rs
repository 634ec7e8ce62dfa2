//! The Users Manager: the users table and its filters (R21). Mass actions are in `bulk.rs`.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail};
use super::ui::{self, Nav};
use super::{Catalog, Pairs, all, first, link_names};
use crate::access::Permission;
use crate::error::Result;
use crate::state::AppState;
use crate::store::users::Link;
use crate::users::filter::UserFilter;
use crate::users::model::UserStatus;
use crate::users::service::{self, UserView};

pub(super) const PAGE_SIZE: i64 = 50;

/// The list's filters as they appear in the URL (`status` may repeat) and, prefixed with
/// `f_`, as hidden fields of the mass-action form.
#[derive(Debug, Default)]
pub(super) struct ListParams {
    status: Vec<String>,
    role: String,
    desk: String,
    group: String,
    skill: String,
    q: String,
    /// Only users locked out after too many failed sign-ins.
    locked: bool,
    pub cursor: String,
}

impl ListParams {
    pub(super) fn from_pairs(p: &Pairs, prefix: &str) -> Self {
        let key = |k: &str| format!("{prefix}{k}");
        let one = |k: &str| first(p, &key(k)).unwrap_or_default().trim().to_string();
        let status_key = key("status");
        ListParams {
            status: all(p, &status_key).map(str::to_string).collect(),
            role: one("role"),
            desk: one("desk"),
            group: one("group"),
            skill: one("skill"),
            q: first(p, &key("q")).unwrap_or_default().to_string(),
            locked: matches!(first(p, &key("locked")), Some("1" | "true" | "on")),
            cursor: one("cursor"),
        }
    }

    pub(super) fn filter(&self) -> Result<UserFilter> {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut filter = UserFilter::from_query(
            Some(&self.status.join(",")),
            opt(&self.role).as_deref(),
            opt(&self.desk).as_deref(),
            opt(&self.group).as_deref(),
            opt(&self.skill).as_deref(),
            opt(&self.q).as_deref(),
        )?;
        filter.locked = self.locked;
        Ok(filter)
    }

    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs: Vec<(&str, &str)> = self.status.iter().map(|s| ("status", s.as_str())).collect();
        pairs.extend([("role", self.role.as_str()), ("desk", &self.desk), ("group", &self.group), ("skill", &self.skill), ("q", &self.q)]);
        if self.locked {
            pairs.push(("locked", "1"));
        }
        pairs
    }

    /// The list URL with these filters, at `cursor`.
    fn url(&self, cursor: Option<&str>) -> String {
        let mut pairs = self.pairs();
        if let Some(c) = cursor {
            pairs.push(("cursor", c));
        }
        let query = ui::query_string(&pairs);
        if query.is_empty() { "/console/users".into() } else { format!("/console/users?{query}") }
    }

    pub(super) fn hidden(&self) -> Markup {
        html! {
            @for (k, v) in self.pairs() {
                @if !v.is_empty() { input type="hidden" name=(format!("f_{k}")) value=(v); }
            }
            @if !self.cursor.is_empty() { input type="hidden" name="f_cursor" value=(self.cursor); }
        }
    }
}

pub(super) async fn list(State(state): State<AppState>, user: ConsoleUser, Query(q): Query<Pairs>) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let params = ListParams::from_pairs(&q, "");
    let filter = params.filter().or_fail(&user)?;
    let catalog = Catalog::load(&state, account.id).await.or_fail(&user)?;
    let cursor = (!params.cursor.is_empty()).then_some(params.cursor.as_str());
    let page = service::list(&state.store, &principal, &filter, cursor, PAGE_SIZE).await.or_fail(&user)?;
    let notice = match first(&q, "notice") {
        Some("saved") => Some("The user was saved."),
        Some("deleted") => Some("The user was deleted."),
        Some("two_factor") => Some("The two-factor method was changed."),
        Some("totp_reset") => Some("The authenticator was reset: the user sets up a new one at their next sign-in."),
        _ => None,
    };
    let bulk_allowed = user.can(Permission::UsersEdit) || user.can(Permission::UsersDelete);
    let create = html! {
        @if user.can(Permission::UsersCreate) { a.button.primary href="/console/users/new" { "Create New User" } }
    };
    let body = html! {
        (ui::page_head("Users", Some("Everyone who can sign in to this account, their roles, desks and second factor."), create))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        (filters_form(&params, &catalog))
        form #bulk-form hx-post="/console/users/bulk" hx-target="#bulk-result" hx-swap="innerHTML" {
            @if bulk_allowed { (super::bulk::bulk_bar(&user, &params)) }
            div #bulk-result {}
            div.table-wrap {
                table.data.users {
                    caption.visually-hidden { "Users" }
                    thead { tr {
                        @if bulk_allowed {
                            th.sel scope="col" {
                                input #select-all type="checkbox" data-select-all="ids" aria-label="Select all users on this page";
                            }
                        }
                        th scope="col" { "Username" }
                        th scope="col" { "Email" }
                        th scope="col" { "Extension" }
                        th scope="col" { "Roles" }
                        th scope="col" { "Desks" }
                        th scope="col" { "Two-Factor" }
                        th scope="col" { "Status" }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    (rows(&user, &page.items, bulk_allowed, &params, false))
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if !params.cursor.is_empty() { a.button href=(params.url(None)) { "First page" } }
            @if let Some(next) = &page.next_cursor { a.button href=(params.url(Some(next))) rel="next" { "Next page" } }
        }
    };
    Ok(user.page(Nav::Users, "Users", body))
}

fn filters_form(params: &ListParams, catalog: &Catalog) -> Markup {
    html! {
        form.filters method="get" action="/console/users" role="search" aria-label="Filter users" {
            div.field.grow {
                label for="filter-q" { "Search" }
                input #filter-q type="search" name="q" value=(params.q) maxlength="200"
                    placeholder="Login, name, email, extension, company…";
            }
            fieldset.field.inline-checks {
                legend { "Status" }
                @for s in UserStatus::ALL {
                    (ui::checkbox("status", s.as_str(), status_label(s), params.status.iter().any(|v| v == s.as_str()),
                        &format!("filter-status-{}", s.as_str())))
                }
            }
            fieldset.field.inline-checks {
                legend { "Sign-in" }
                (ui::checkbox("locked", "1", "Locked only", params.locked, "filter-locked"))
            }
            (filter_select("role", Link::Roles, catalog, &params.role))
            (filter_select("desk", Link::Desks, catalog, &params.desk))
            (filter_select("group", Link::Groups, catalog, &params.group))
            (filter_select("skill", Link::Skills, catalog, &params.skill))
            div.filter-actions {
                button.button type="submit" { "Apply filters" }
                a.button.subtle href="/console/users" { "Clear" }
            }
        }
    }
}

fn filter_select(name: &str, link: Link, catalog: &Catalog, selected: &str) -> Markup {
    let (singular, _) = link_names(link);
    let id = format!("filter-{name}");
    html! {
        div.field {
            label for=(id) { (singular) }
            select id=(id) name=(name) {
                option value="" { "Any " (singular.to_lowercase()) }
                @for item in catalog.of(link) {
                    option value=(item.id) selected[item.id.to_string() == selected] { (item.name) }
                }
            }
        }
    }
}

/// The table body; `oob` marks it for htmx to swap in place after a mass action.
pub(super) fn rows(user: &ConsoleUser, items: &[UserView], selectable: bool, params: &ListParams, oob: bool) -> Markup {
    let columns = if selectable { 9 } else { 8 };
    html! {
        tbody #user-rows hx-swap-oob=[oob.then_some("true")] {
            @if items.is_empty() {
                tr { td.empty colspan=(columns) {
                    @if params.pairs().iter().any(|(_, v)| !v.is_empty()) {
                        "No users match these filters. " a href="/console/users" { "Clear the filters" } "."
                    } @else { "No users yet." }
                } }
            }
            @for u in items { (row(user, u, selectable)) }
        }
    }
}

fn row(user: &ConsoleUser, u: &UserView, selectable: bool) -> Markup {
    let id = u.id.0;
    let can_edit = user.can(Permission::UsersEdit);
    html! {
        tr {
            @if selectable {
                td.sel { input type="checkbox" name="ids" value=(id) aria-label=(format!("Select {}", u.login)); }
            }
            td {
                @if can_edit { a.user-login href=(format!("/console/users/{id}/edit")) { (u.login) } }
                @else { span.user-login { (u.login) } }
                @if u.display_name != u.login { div.muted { (u.display_name) } }
            }
            td { (dash(u.email.as_deref())) }
            td { (dash(u.extension.as_deref())) }
            td {
                div.badges {
                    @for r in &u.assignments.roles {
                        span.badge.role title=[r.description.as_deref().filter(|d| !d.is_empty())] { (r.name) }
                    }
                    @if !u.assignments.permissions.is_empty() {
                        span.badge.special title=(format!("Special permissions: {}", u.assignments.permissions.join(", "))) {
                            "Special permissions"
                        }
                    }
                    @if u.assignments.roles.is_empty() && u.assignments.permissions.is_empty() { span.muted { "—" } }
                }
            }
            td {
                div.badges {
                    @for d in &u.assignments.desks { span.tag { (d.name) } }
                    @if u.assignments.desks.is_empty() { span.muted { "—" } }
                }
            }
            td { (super::user_two_factor::cell(user, u)) }
            td {
                div.badges {
                    span class=(format!("status status-{}", u.status.as_str())) { (status_label(u.status)) }
                    @if let Some(until) = &u.locked_until {
                        @let title = format!("Sign-in locked after too many failed attempts, until {}", lock_until_text(until));
                        @if user.can(Permission::UsersPasswords) || user.can(Permission::SessionsView) {
                            a.status.status-locked href=(format!("/console/users/{id}/sessions")) title=(title) {
                                (ui::lock_icon()) "Locked"
                            }
                        } @else {
                            span.status.status-locked title=(title) { (ui::lock_icon()) "Locked" }
                        }
                    }
                }
            }
            td.actions { (actions_menu(user, u)) }
        }
    }
}

fn actions_menu(user: &ConsoleUser, u: &UserView) -> Markup {
    let id = u.id.0;
    let sessions_permission = if u.locked_until.is_some() && !user.can(Permission::SessionsView) {
        Permission::UsersPasswords
    } else {
        Permission::SessionsView
    };
    let sessions_label = if u.locked_until.is_some() && user.can(Permission::UsersPasswords) { "Sessions and unlock" } else { "Sessions" };
    let items: Vec<(String, &str, bool)> = [
        (Permission::UsersEdit, format!("/console/users/{id}/edit"), "Edit", false),
        (Permission::UsersPasswords, format!("/console/users/{id}/password"), "Change password", false),
        (sessions_permission, format!("/console/users/{id}/sessions"), sessions_label, false),
        (Permission::UsersEdit, format!("/console/users/{id}/security"), "Security", false),
        (Permission::UsersEdit, format!("/console/users/{id}/avatar"), "Avatar", false),
        (Permission::ActivityView, format!("/console/users/{id}/activity"), "Activity", false),
        (Permission::UsersDelete, format!("/console/users/{id}/delete"), "Delete", true),
    ]
    .into_iter()
    .filter(|(p, ..)| user.can(*p))
    .map(|(_, href, label, danger)| (href, label, danger))
    .collect();
    html! {
        @if !items.is_empty() {
            details.menu {
                summary.button.subtle.small { "Actions" span.visually-hidden { " for " (u.login) } }
                ul.menu-list {
                    @for (href, label, danger) in &items { li { a.danger[*danger] href=(href) { (label) } } }
                }
            }
        }
    }
}

fn dash(v: Option<&str>) -> Markup {
    html! {
        @match v.filter(|s| !s.is_empty()) {
            Some(s) => (s),
            None => span.muted { "—" },
        }
    }
}

/// An RFC 3339 time as `2025-01-31 14:05 UTC`, for a title attribute.
fn lock_until_text(rfc3339: &str) -> String {
    rfc3339.get(..16).map(|t| format!("{} UTC", t.replace('T', " "))).unwrap_or_else(|| rfc3339.to_string())
}

pub(super) fn status_label(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Active => "Active",
        UserStatus::Disabled => "Disabled",
    }
}

