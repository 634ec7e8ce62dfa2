//! The activity log (R36): the account's events, and one user's.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::extract::{ConsoleUser, Failure, OrFail};
use super::ui::{self, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::error::Error;
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::activity::{EventFilter, EventRecord};
use crate::users::bulk::BulkAction;
use crate::users::service;

const LIMIT: i64 = 100;

pub(super) async fn user_activity(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::ActivityView).await?;
    let principal = user.principal(&account, Permission::ActivityView);
    // A deleted user's history stays readable: the events carry their login.
    let view = match service::get(&state, &principal, UserId(id)).await {
        Ok(view) => Some(view),
        Err(Error::NotFound(_)) => None,
        Err(err) => return Err(user.fail(err)),
    };
    let before = first(&q, "before").and_then(|b| b.parse().ok());
    let filter = EventFilter { target_user: Some(UserId(id)), ..Default::default() };
    let list = crate::activity::service::list(&state, &principal, filter, before, LIMIT).await.or_fail(&user)?;
    let login = match (&view, list.first()) {
        (Some(v), _) => v.login.clone(),
        (None, Some(e)) => e.target_label.clone(),
        (None, None) => return Err(user.fail(Error::NotFound("user"))),
    };
    // "Edit user" only on a user the viewer may edit (D2, D8).
    let edit = match &view {
        Some(v) if user.can(Permission::UsersEdit) => {
            super::users::offers::Acting::load(&state, &user, &account, &[v.id])
                .await
                .or_fail(&user)?
                .offers(v.id, false)
                .edit
        }
        _ => false,
    };
    let base = format!("/console/users/{id}/activity");
    let title = format!("Activity of {login}");
    let body = html! {
        @match &view {
            Some(v) => (super::users::actions::breadcrumbs(v, "Activity")),
            None => nav.breadcrumbs aria-label="Breadcrumb" {
                a href="/console/activity" { "Activity" } " / " span aria-current="page" { (login) }
            },
        }
        (ui::page_head(&title, Some("Every change to this user and every sign-in, newest first."), html! {
            @if edit {
                a.button.subtle href=(format!("/console/users/{id}/edit")) { "Edit user" }
            }
        }))
        @if view.is_none() { (ui::alert("info", "This user has been deleted; their history is kept.")) }
        (table(&list, false))
        (pager(&list, &base, before.is_some(), &[]))
    };
    Ok(user.page(Nav::Users, &title, body))
}

pub(super) async fn account_activity(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::ActivityView).await?;
    let principal = user.principal(&account, Permission::ActivityView);
    let before = first(&q, "before").and_then(|b| b.parse().ok());
    let search = first(&q, "q").unwrap_or_default().chars().take(200).collect::<String>();
    let filter = EventFilter { q: Some(search.clone()), ..Default::default() };
    let list = crate::activity::service::list(&state, &principal, filter, before, LIMIT).await.or_fail(&user)?;
    let body = html! {
        (ui::page_head("Activity", Some("Who changed what, and who signed in, in this account; newest first."), html! {
            @if user.can(Permission::UsersView) { a.button.subtle href="/console/activation-log" { "Activation log" } }
        }))
        form.filters method="get" action="/console/activity" role="search" aria-label="Search the activity" {
            div.field.grow {
                label for="activity-q" { "Search" }
                input #activity-q type="search" name="q" value=(search) maxlength="200" placeholder="A login, a name, a value…";
            }
            div.filter-actions {
                button.button type="submit" { "Search" }
                @if !search.is_empty() { a.button.subtle href="/console/activity" { "Clear" } }
            }
        }
        (table(&list, true))
        (pager(&list, "/console/activity", before.is_some(), &[("q", &search)]))
    };
    Ok(user.page(Nav::Activity, "Activity", body))
}

fn table(list: &[EventRecord], with_target: bool) -> Markup {
    html! {
        div.table-wrap {
            table.data.activity {
                caption.visually-hidden { "Activity events" }
                thead { tr {
                    th scope="col" { "When" }
                    th scope="col" { "Who" }
                    th scope="col" { "What" }
                    @if with_target { th scope="col" { "About" } }
                    th scope="col" { "Details" }
                    th scope="col" { "From" }
                } }
                tbody {
                    @if list.is_empty() {
                        tr { td.empty colspan=(if with_target { 6 } else { 5 }) { "No activity found." } }
                    }
                    @for e in list {
                        tr {
                            td.nowrap { (ui::time(e.at)) }
                            td { (e.actor_label) }
                            td { span class=(action_class(&e.action)) { (action_label(&e.action)) } }
                            @if with_target { td { (target(e)) } }
                            td { (changes(e.changes.as_deref())) }
                            td.nowrap { @match &e.address { Some(a) => (a), None => span.muted { "—" } } }
                        }
                    }
                }
            }
        }
    }
}

fn pager(list: &[EventRecord], base: &str, paged: bool, keep: &[(&str, &str)]) -> Markup {
    let older = (list.len() as i64 == LIMIT).then(|| list.last().map(|e| e.id.0)).flatten();
    let url = |before: Option<String>| {
        let mut pairs: Vec<(&str, &str)> = keep.to_vec();
        let b = before.unwrap_or_default();
        pairs.push(("before", &b));
        let q = ui::query_string(&pairs);
        if q.is_empty() { base.to_string() } else { format!("{base}?{q}") }
    };
    html! {
        nav.pager aria-label="Pages" {
            @if paged { a.button href=(url(None)) { "Newest" } }
            @if let Some(id) = older { a.button href=(url(Some(id.to_string()))) rel="next" { "Older events" } }
        }
    }
}

fn target(e: &EventRecord) -> Markup {
    html! {
        @match (e.target_type.as_str(), e.target_id) {
            ("user", Some(id)) => a href=(format!("/console/users/{id}/activity")) { (e.target_label) },
            _ => (e.target_label),
        }
    }
}

fn action_label(action: &str) -> String {
    let known = match action {
        "user.created" => "User created",
        "user.updated" => "User changed",
        "user.deleted" => "User deleted",
        "user.password_changed" => "Password changed",
        "user.avatar_changed" => "Avatar changed",
        "auth.sign_in" => "Signed in",
        "auth.sign_in_failed" => "Sign-in failed",
        "auth.sign_out" => "Signed out",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    if let Some(a) = action.strip_prefix("users.bulk_").and_then(BulkAction::parse) {
        return format!("Mass action: {}", a.label());
    }
    // `role.created`, `desk.updated`, …: the catalog's events.
    match action.split_once('.') {
        Some((noun, verb @ ("created" | "updated" | "deleted"))) => {
            let verb = if verb == "updated" { "changed" } else { verb };
            format!("{} {verb}", ui::sentence(noun).trim_end_matches('.'))
        }
        _ => action.to_string(),
    }
}

fn action_class(action: &str) -> &'static str {
    if action.ends_with("failed") || action.ends_with("deleted") || action.ends_with("_delete") {
        "event event-warn"
    } else {
        "event"
    }
}

/// `{"field": {"from": a, "to": b}, "other": value}` as a short definition list.
fn changes(json: Option<&str>) -> Markup {
    let Some(map) = json.and_then(|j| serde_json::from_str::<serde_json::Map<String, Value>>(j).ok()) else {
        return html! { span.muted { "—" } };
    };
    html! {
        dl.changes {
            @for (field, v) in &map {
                dt { (ui::label_for(field)) }
                dd {
                    @match v.as_object().filter(|o| o.len() == 2 && o.contains_key("from") && o.contains_key("to")) {
                        Some(o) => { del { (text(&o["from"])) } " → " ins { (text(&o["to"])) } },
                        None => @match (field.as_str(), v.as_str().and_then(BulkAction::parse)) {
                            ("mass_action", Some(a)) => (a.label()),
                            _ => (text(v)),
                        },
                    }
                }
            }
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(o) => {
            o.iter().map(|(k, v)| format!("{}: {}", k.replace('_', " "), text(v))).collect::<Vec<_>>().join("; ")
        }
    }
}
