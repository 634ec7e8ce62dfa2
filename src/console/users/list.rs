//! The Users Manager: the users table and its filters (R21). Mass actions are in `users/bulk.rs`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, PreEscaped, html};

use super::offers::{Acting, Offers};
use crate::access::{Permission, Scope};
use crate::clock::Timestamp;
use crate::console::extract::{ConsoleUser, Failure, OrFail};
use crate::console::ui::{self, Nav};
use crate::console::{Catalog, Pairs, all, first, link_names};
use crate::error::Result;
use crate::model::user::UserStatus;
use crate::model::user_filter::UserFilter;
use crate::state::AppState;
use crate::store::user_index::Listed;
use crate::store::users::Link;
use crate::users::filter::FilterText;
use crate::users::service::{self, KeptPage, UserView};

pub(in crate::console) const PAGE_SIZE: i64 = 50;

/// The list's filters as they appear in the URL (`status` may repeat) and, prefixed with
/// `f_`, as hidden fields of the mass-action form.
#[derive(Debug, Default)]
pub(in crate::console) struct ListParams {
    status: Vec<String>,
    role: String,
    desk: String,
    group: String,
    skill: String,
    queue: String,
    /// `true`, `false` or empty (R11).
    agent: String,
    supervisor: String,
    q: String,
    /// Only users locked out after too many failed sign-ins.
    locked: bool,
    pub cursor: String,
}

impl ListParams {
    pub(in crate::console) fn from_pairs(p: &Pairs, prefix: &str) -> Self {
        let key = |k: &str| format!("{prefix}{k}");
        let one = |k: &str| first(p, &key(k)).unwrap_or_default().trim().to_string();
        let status_key = key("status");
        ListParams {
            status: all(p, &status_key).map(str::to_string).collect(),
            role: one("role"),
            desk: one("desk"),
            group: one("group"),
            skill: one("skill"),
            queue: one("queue"),
            agent: one("agent"),
            supervisor: one("supervisor"),
            q: first(p, &key("q")).unwrap_or_default().to_string(),
            locked: matches!(first(p, &key("locked")), Some("1" | "true" | "on")),
            cursor: one("cursor"),
        }
    }

    pub(in crate::console) fn filter(&self) -> Result<UserFilter> {
        fn opt(s: &str) -> Option<&str> {
            (!s.is_empty()).then_some(s)
        }
        let status = self.status.join(",");
        let mut filter = UserFilter::from_query(FilterText {
            status: Some(&status),
            role: opt(&self.role),
            desk: opt(&self.desk),
            group: opt(&self.group),
            skill: opt(&self.skill),
            queue: opt(&self.queue),
            agent: opt(&self.agent),
            supervisor: opt(&self.supervisor),
            q: opt(&self.q),
        })?;
        filter.locked = self.locked;
        Ok(filter)
    }

    /// Whether any filter is set (the cursor aside).
    fn filtered(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }

    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs: Vec<(&str, &str)> = self.status.iter().map(|s| ("status", s.as_str())).collect();
        pairs.extend([
            ("role", self.role.as_str()),
            ("desk", &self.desk),
            ("group", &self.group),
            ("skill", &self.skill),
            ("queue", &self.queue),
            ("agent", &self.agent),
            ("supervisor", &self.supervisor),
            ("q", &self.q),
        ]);
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

    pub(in crate::console) fn hidden(&self) -> Markup {
        html! {
            @for (k, v) in self.pairs() {
                @if !v.is_empty() { input type="hidden" name=(format!("f_{k}")) value=(v); }
            }
            @if !self.cursor.is_empty() { input type="hidden" name="f_cursor" value=(self.cursor); }
        }
    }
}

pub(in crate::console) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let params = ListParams::from_pairs(&q, "");
    let filter = params.filter().or_fail(&user)?;
    let cursor = (!params.cursor.is_empty()).then_some(params.cursor.as_str());
    // D8: a viewer who sees part of the account is told how many users that part holds (a
    // count of the whole account is left out: at a million users it would cost every page).
    let scoped = principal.scope != Scope::Account && !principal.platform_operator;
    let page = service::list_kept(&state, &principal, &filter, cursor, PAGE_SIZE, scoped).await.or_fail(&user)?;
    let catalog = Catalog::from_kept(&page.catalog);
    let acting = Acting::for_page(&state, &user, &account, &page);
    let notice = match first(&q, "notice") {
        Some("saved") => Some("The user was saved."),
        Some("deleted") => Some("The user was deleted."),
        Some("two_factor") => Some("The two-factor method was changed."),
        Some("totp_reset") => Some("The authenticator was reset: the user sets up a new one at their next sign-in."),
        Some("invited") => Some("The invitations were sent."),
        Some("invitations_saved") => Some(
            "The invitations were saved: send them from each user's Invitation page, or all at once with the mass action.",
        ),
        Some("revoked") => Some("The invitation was revoked and the invited user removed."),
        _ => None,
    };
    let bulk_allowed = user.can(Permission::UsersEdit) || user.can(Permission::UsersDelete);
    let create = html! {
        @if user.can(Permission::UsersCreate) {
            a.button href="/console/users/invite" { "Invite users" }
            a.button.primary href="/console/users/new" { "Create New User" }
        }
    };
    let body = html! {
        (ui::page_head("Users", Some("Everyone who can sign in to this account, their roles, desks and second factor."), create))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        (filters_form(&params, &catalog))
        @if let Some(n) = page.count { (count_line(n, principal.scope, params.filtered())) }
        @if user.can(Permission::BillingView) {
            p #seat-line .muted hx-get="/console/seats/summary" hx-trigger="load" hx-swap="innerHTML" { "Seats…" }
        }
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
                    (rows(&page, &acting, bulk_allowed, &params, false))
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

/// "3 users share a desk with you." — the size of the viewer's part of the account (D8).
fn count_line(n: i64, scope: Scope, filtered: bool) -> Markup {
    let users = if n == 1 { "1 user".to_string() } else { format!("{n} users") };
    let whom = match scope {
        Scope::Desks => "in your desks (you and everyone sharing a desk with you)",
        Scope::Company => "you and the end users of your company",
        Scope::Own => "only you",
        Scope::Account => "in this account",
    };
    let verb = if n == 1 { "matches" } else { "match" };
    let text = match (scope, filtered) {
        (Scope::Company | Scope::Own, false) => format!("{users}: {whom}. You see and manage no one else."),
        (Scope::Company | Scope::Own, true) => {
            format!("{users} {verb} these filters among the users you see ({whom}).")
        }
        (_, false) => format!("{users} {whom}. You see and manage no one else."),
        (_, true) => format!("{users} {verb} these filters among the users {whom}."),
    };
    html! { p #user-count .muted role="status" { (text) } }
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
            @if !catalog.queues.is_empty() {
                (filter_select("queue", Link::Queues, catalog, &params.queue))
            }
            (flag_select("agent", "Agents", &params.agent))
            (flag_select("supervisor", "Supervisors", &params.supervisor))
            div.filter-actions {
                button.button type="submit" { "Apply filters" }
                a.button.subtle href="/console/users" { "Clear" }
            }
        }
    }
}

/// A filter on one of R11's flags: anyone, only those flagged, only those not.
fn flag_select(name: &str, label: &str, selected: &str) -> Markup {
    let id = format!("filter-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                option value="" { "Anyone" }
                option value="true" selected[selected == "true"] { "Only " (label.to_lowercase()) }
                option value="false" selected[selected == "false"] { "All but " (label.to_lowercase()) }
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
pub(in crate::console) fn rows(
    page: &KeptPage,
    acting: &Acting,
    selectable: bool,
    params: &ListParams,
    oob: bool,
) -> Markup {
    let columns = if selectable { 9 } else { 8 };
    let now = Timestamp::now();
    html! {
        tbody #user-rows hx-swap-oob=[oob.then_some("true")] {
            @if page.users.is_empty() {
                tr { td.empty colspan=(columns) {
                    @if params.filtered() {
                        "No users match these filters. " a href="/console/users" { "Clear the filters" } "."
                    } @else { "No users yet." }
                } }
            }
            @for listed in &page.users { (kept_row(page, listed, acting, selectable, now)) }
        }
    }
}

/// A user's row, made once for each set of actions offered and kept with their record until
/// they change (as the API keeps their JSON); a row showing a lock is made each time, since the
/// lock ends with time, not with a change, and so is one showing a deactivation period, whose
/// times are written in each viewer's zone.
fn kept_row(
    page: &KeptPage,
    listed: &Listed,
    acting: &Acting,
    selectable: bool,
    now: Timestamp,
) -> PreEscaped<Arc<str>> {
    let locked = listed.shows_a_lock(now);
    let offers = acting.offers(listed.record.id, locked);
    let make = || row(&page.view(listed), &offers, selectable).into_string();
    // An invitation expires with time too.
    if locked || listed.record.deactivation_from.is_some() || listed.record.invitation_expires_at.is_some() {
        return PreEscaped(make().into());
    }
    PreEscaped(listed.renderings.get_or_make(offers.row_key(selectable), make))
}

fn row(u: &UserView, offers: &Offers, selectable: bool) -> Markup {
    let id = u.id.0;
    html! {
        tr.out-of-reach[offers.out_of_reach] {
            @if selectable {
                td.sel {
                    // A mass action naming a user out of reach is refused whole (D2): not selectable.
                    @if offers.out_of_reach {
                        span.visually-hidden { (u.login) " cannot be selected: out of your reach" }
                    } @else {
                        input type="checkbox" name="ids" value=(id) aria-label=(format!("Select {}", u.login));
                    }
                }
            }
            td {
                @if offers.edit { a.user-login href=(format!("/console/users/{id}/edit")) { (u.login) } }
                @else { span.user-login { (u.login) } }
                @if offers.myself { " " span.badge.you { "You" } }
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
            td { (super::two_factor::cell(u, offers.two_factor)) }
            td {
                div.badges {
                    span class=(format!("status status-{}", u.status.as_str())) { (status_label(u.status)) }
                    @if let Some(d) = &u.deactivation { (deactivation_badge(u, d, offers.security)) }
                    @if u.status == UserStatus::Invited { (invitation_badge(u)) }
                    @if let Some(until) = &u.locked_until {
                        @let title = format!("Sign-in locked after too many failed attempts, until {}", lock_until_text(until));
                        @if offers.sessions {
                            a.status.status-locked href=(format!("/console/users/{id}/sessions")) title=(title) {
                                (ui::lock_icon()) "Locked"
                            }
                        } @else {
                            span.status.status-locked title=(title) { (ui::lock_icon()) "Locked" }
                        }
                    }
                }
            }
            td.actions {
                (actions_menu(u, offers))
                @if offers.out_of_reach { (out_of_reach_hint(&u.login)) }
            }
        }
    }
}

/// The hint on a user the viewer may not change (D2), in words (not colour alone).
pub(in crate::console) fn out_of_reach_hint(login: &str) -> Markup {
    html! {
        span.reach-hint title="This user holds permissions you do not, or is an admin or platform operator you are not: only someone who holds at least as much can change them." {
            "Out of your reach"
            span.visually-hidden { ": you cannot change " (login) }
        }
    }
}

fn actions_menu(u: &UserView, offers: &Offers) -> Markup {
    let id = u.id.0;
    let sessions_label = if u.locked_until.is_some() && offers.unlock { "Sessions and unlock" } else { "Sessions" };
    let items: Vec<(String, &str, bool)> = [
        (
            offers.edit,
            format!("/console/users/{id}/edit"),
            if offers.myself { "Edit my details" } else { "Edit" },
            false,
        ),
        (offers.password, format!("/console/users/{id}/password"), "Change password", false),
        (offers.sessions, format!("/console/users/{id}/sessions"), sessions_label, false),
        (offers.security, format!("/console/users/{id}/security"), "Security", false),
        (offers.access_rules, format!("/console/users/{id}/access-rules"), "Access rules", false),
        (offers.avatar, format!("/console/users/{id}/avatar"), "Avatar", false),
        (offers.activity, format!("/console/users/{id}/activity"), "Activity", false),
        (offers.delete, format!("/console/users/{id}/delete"), "Delete", true),
    ]
    .into_iter()
    .filter(|(offered, ..)| *offered)
    .map(|(_, href, label, danger)| (href, label, danger))
    .collect();
    html! {
        @if offers.myself {
            a.button.subtle.small href="/console/me" { "My account" span.visually-hidden { ": your password, email and second factor" } }
            " "
        }
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

/// An RFC 3339 time as the viewer reads it, for a title attribute.
fn lock_until_text(rfc3339: &str) -> String {
    match crate::clock::parse_rfc3339(rfc3339) {
        Some(ms) => ui::viewer_time().format(ms),
        None => rfc3339.to_string(),
    }
}

/// R19: an invited user's link, expired or not, with the way to their invitation.
fn invitation_badge(u: &UserView) -> Markup {
    let expired = u
        .invitation_expires_at
        .as_deref()
        .and_then(crate::clock::parse_rfc3339)
        .is_some_and(|at| at <= crate::clock::now_ms());
    let (text, title) = match (&u.invitation_expires_at, expired) {
        (None, _) => ("Not sent", "Saved to be sent later".to_string()),
        (Some(at), true) => ("Expired", format!("The link expired {}; it can be sent again", lock_until_text(at))),
        (Some(at), false) => ("Pending", format!("The link works until {}", lock_until_text(at))),
    };
    html! {
        a.status.status-scheduled.status-locked[expired] href=(format!("/console/users/{}/invitation", u.id.0)) title=(title) { (text) }
    }
}

/// R18: "Scheduled" before a period begins, "Until …" while it runs with an end.
fn deactivation_badge(u: &UserView, d: &crate::users::service::DeactivationShown, link: bool) -> Markup {
    // Begun: they are out and it started (a deactivated user's later period has not).
    let begun = u.status == UserStatus::Disabled
        && crate::clock::parse_rfc3339(&d.from).is_some_and(|from| from <= crate::clock::now_ms());
    let title = format!(
        "Deactivated from {}{}",
        lock_until_text(&d.from),
        d.until.as_deref().map_or(", with no end".to_string(), |t| format!(" until {}", lock_until_text(t)))
    );
    let text = match (begun, &d.until) {
        (false, _) => "Scheduled".to_string(),
        (true, Some(until)) => format!("Until {}", lock_until_text(until)),
        (true, None) => return html! {},
    };
    html! {
        @if link {
            a.status.status-scheduled href=(format!("/console/users/{}/deactivation", u.id.0)) title=(title) { (text) }
        } @else {
            span.status.status-scheduled title=(title) { (text) }
        }
    }
}

pub(in crate::console) fn status_label(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Active => "Active",
        UserStatus::Disabled => "Disabled",
        UserStatus::Invited => "Invited",
    }
}
