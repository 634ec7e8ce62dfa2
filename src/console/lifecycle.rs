//! Deactivation for a time on a user's page, and the activation log (R18). Times are entered
//! and shown in the viewer's zone (`console::time`), which the page names.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::error::{Error, FieldIssue};
use crate::ids::{PeriodId, UserId};
use crate::lifecycle::api::{ActivationQuery, ActivationView};
use crate::lifecycle::service::{self, PeriodInput, PeriodView};
use crate::model::lifecycle::{ActivationCause, ActivationChange, PeriodState};
use crate::state::AppState;
use crate::users::service::UserView;

/// What the form was given, to show again with its messages.
#[derive(Default)]
struct Values {
    from: String,
    until: String,
    reason: String,
}

/// `GET /console/users/{id}/deactivation`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let notice = match first(&q, "notice") {
        Some("saved") => Some("The deactivation period was saved."),
        Some("cancelled") => Some("The deactivation period was cancelled."),
        Some("ended") => Some("The period was ended and the user reactivated."),
        _ => None,
    };
    render(&state, &user, id, notice).await
}

async fn render(state: &AppState, user: &ConsoleUser, id: i64, notice: Option<&str>) -> Result<Response, Failure> {
    let account = user.allow(state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // One's own status is not changed here (D3), and a user out of reach (D2) is refused as
    // saving would be: with the reason.
    principal.refuse_self(UserId(id), "user", "status").or_fail(user)?;
    let view = crate::users::reach::changeable(state, &principal, UserId(id)).await.or_fail(user)?;
    let periods = service::list(state, &principal, UserId(id)).await.or_fail(user)?;
    let viewing = user.principal(&account, Permission::UsersView);
    let query = ActivationQuery { user: Some(id), limit: Some(20), ..Default::default() };
    let log = crate::lifecycle::api::log_page(state, &viewing, &query).await.or_fail(user)?;
    let title = format!("Deactivation of {}", view.login);
    let body = html! {
        (super::users::actions::breadcrumbs(&view, "Deactivation"))
        (ui::page_head(&title, Some("Deactivate this user now or for a time; they are reactivated by themself when the time is up."),
            html! { a.button.subtle href=(format!("/console/users/{id}/edit")) { "Edit user" } }))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        (standing(&view))
        (period_form(id, &Values::default(), &[]))
        h2 { "Periods" }
        (periods_table(id, &periods))
        h2 { "Activation log" }
        (log_table(&log.items, false))
        p { a href=(format!("/console/activation-log?user={id}")) { "The whole log for this user" } }
    };
    Ok(user.page(Nav::Users, &title, body))
}

fn standing(view: &UserView) -> Markup {
    html! {
        dl.facts #deactivation-standing {
            dt { "Status" }
            dd { @if view.status == crate::model::user::UserStatus::Active { "Active" } @else { "Deactivated" } }
            @if let Some(d) = &view.deactivation {
                dt { "Out" }
                dd {
                    "from " (ui::time_text(Some(&d.from)))
                    @match &d.until { Some(u) => { " until " (ui::time_text(Some(u))) }, None => " with no end" }
                }
            }
        }
    }
}

fn period_form(id: i64, v: &Values, issues: &[FieldIssue]) -> Markup {
    let zone = ui::viewer_time().zone_name();
    let hint = format!("In {zone}. Empty: now.");
    let until_hint = format!("In {zone}. Empty: until someone reactivates them.");
    html! {
        form #deactivation-form .panel.narrow hx-post=(format!("/console/users/{id}/deactivation")) hx-target="this" hx-swap="outerHTML" novalidate {
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { (summary(issues)) }
            }
            (Field::new("from", "From", &v.from).kind("datetime-local").hint(&hint).render(issues))
            (Field::new("until", "Until", &v.until).kind("datetime-local").hint(&until_hint).render(issues))
            (Field::new("reason", "Reason", &v.reason).maxlength(500).hint("Kept in the activation log.").render(issues))
            div.form-actions {
                button.button.primary type="submit" { "Deactivate" }
            }
        }
    }
}

/// Problems that belong to no field of the form (an overlap, the user's state, the seats).
fn summary(issues: &[FieldIssue]) -> Markup {
    let elsewhere: Vec<&FieldIssue> =
        issues.iter().filter(|i| !["from", "until", "reason"].contains(&i.field.as_str())).collect();
    html! {
        "Nothing was saved"
        @if elsewhere.is_empty() { ": see the messages below." }
        @else { ": " @for i in elsewhere { (ui::sentence(&i.message)) " " } }
    }
}

fn state_label(state: PeriodState) -> &'static str {
    match state {
        PeriodState::Pending => "Scheduled",
        PeriodState::InEffect => "In effect",
        PeriodState::Ended => "Ended",
        PeriodState::Cancelled => "Cancelled",
    }
}

fn periods_table(id: i64, periods: &[PeriodView]) -> Markup {
    html! {
        div.table-wrap {
            table.data #deactivation-periods {
                caption.visually-hidden { "Deactivation periods" }
                thead { tr {
                    th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "State" }
                    th scope="col" { "Reason" } th scope="col" { "Set by" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if periods.is_empty() { tr { td.empty colspan="6" { "No deactivation periods." } } }
                    @for p in periods {
                        tr data-period=(p.id.0) {
                            td.nowrap { (ui::time_text(Some(&p.from))) }
                            td.nowrap { @match &p.until { Some(u) => (ui::time_text(Some(u))), None => span.muted { "No end" } } }
                            td { span.badge { (state_label(p.state)) } }
                            td { @match &p.reason { Some(r) => (r), None => span.muted { "—" } } }
                            td { (p.created_by_label) }
                            td {
                                @if p.state.is_open() {
                                    button.button.subtle type="button" hx-swap="none"
                                        hx-post=(format!("/console/users/{id}/deactivation/{}/cancel", p.id.0))
                                        hx-confirm=(if p.state == PeriodState::Pending { "Cancel this deactivation period?" } else { "End this period and reactivate the user now?" }) {
                                        @if p.state == PeriodState::Pending { "Cancel" } @else { "Reactivate now" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn change_label(change: ActivationChange) -> &'static str {
    match change {
        ActivationChange::Deactivated => "Deactivated",
        ActivationChange::Reactivated => "Reactivated",
    }
}

fn cause_label(cause: ActivationCause) -> &'static str {
    match cause {
        ActivationCause::Manual => "By hand",
        ActivationCause::Scheduled => "Schedule",
        ActivationCause::Bulk => "Mass action",
        ActivationCause::Import => "Import",
        ActivationCause::Account => "Whole account",
    }
}

fn log_table(lines: &[ActivationView], with_user: bool) -> Markup {
    html! {
        div.table-wrap {
            table.data #activation-log {
                caption.visually-hidden { "Activation log" }
                thead { tr {
                    th scope="col" { "When" }
                    @if with_user { th scope="col" { "User" } }
                    th scope="col" { "Change" } th scope="col" { "Triggered by" } th scope="col" { "Who" } th scope="col" { "Reason" }
                } }
                tbody {
                    @if lines.is_empty() {
                        tr { td.empty colspan=(if with_user { 6 } else { 5 }) { "No deactivations or reactivations." } }
                    }
                    @for l in lines {
                        tr {
                            td.nowrap { (ui::time_text(Some(&l.at))) }
                            @if with_user {
                                td { @match l.user_id {
                                    Some(u) => a href=(format!("/console/users/{u}/activity")) { (l.user_label) },
                                    None => span.muted { "The whole account" },
                                } }
                            }
                            td { span class=(if l.change == ActivationChange::Deactivated { "event event-warn" } else { "event" }) { (change_label(l.change)) } }
                            td { (cause_label(l.trigger)) }
                            td { (l.actor_label) }
                            td { @match &l.reason { Some(r) => (r), None => span.muted { "—" } } }
                        }
                    }
                }
            }
        }
    }
}

fn values_from(form: &Pairs) -> Values {
    let text = |k: &str| first(form, k).unwrap_or_default().trim().to_string();
    Values { from: text("from"), until: text("until"), reason: text("reason") }
}

/// `POST /console/users/{id}/deactivation`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let values = values_from(&form);
    let viewer = ui::viewer_time();
    let when = |v: &str| (!v.is_empty()).then(|| viewer.local_input_to_rfc3339(v));
    let input = PeriodInput {
        from: when(&values.from),
        until: Some(when(&values.until)),
        reason: Some(Some(values.reason.clone()).filter(|r| !r.is_empty())),
    };
    match service::create(&state, &principal, UserId(id), input).await {
        Ok(_) => Ok(go(user.htmx, &format!("/console/users/{id}/deactivation?notice=saved"))),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, period_form(id, &values, &issues)).into_response())
        }
        Err(Error::StateConflict(issue)) => {
            Ok((StatusCode::CONFLICT, period_form(id, &values, &[issue])).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/users/{id}/deactivation/{period}/cancel`.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, period)): Path<(i64, i64)>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    match service::cancel(&state, &principal, UserId(id), PeriodId(period)).await {
        Ok(p) => {
            let notice = if p.state == PeriodState::Ended { "ended" } else { "cancelled" };
            Ok(go(user.htmx, &format!("/console/users/{id}/deactivation?notice={notice}")))
        }
        Err(err @ Error::StateConflict(_)) => {
            Ok((StatusCode::CONFLICT, ui::flash_oob("error", &ui::error_sentence(&err))).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `GET /console/activation-log`: the account's log, filtered by time range, trigger and user.
pub(super) async fn activation_log(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let viewer = ui::viewer_time();
    let text = |k: &str| first(&q, k).unwrap_or_default().trim().to_string();
    let (from, to, trigger, cursor) = (text("from"), text("to"), text("trigger"), text("cursor"));
    let user_filter = first(&q, "user").and_then(|u| u.parse::<i64>().ok());
    let query = ActivationQuery {
        user: user_filter,
        from: (!from.is_empty()).then(|| viewer.local_input_to_rfc3339(&from)),
        to: (!to.is_empty()).then(|| viewer.local_input_to_rfc3339(&to)),
        trigger: (!trigger.is_empty()).then(|| trigger.clone()),
        limit: Some(100),
        cursor: (!cursor.is_empty()).then(|| cursor.clone()),
    };
    let (page, issues) = match crate::lifecycle::api::log_page(&state, &principal, &query).await {
        Ok(page) => (page, Vec::new()),
        Err(Error::Validation(issues)) => (crate::http::Page { items: Vec::new(), next_cursor: None }, issues),
        Err(err) => return Err(user.fail(err)),
    };
    let zone = viewer.zone_name();
    let mut keep: Vec<(&str, String)> = vec![("from", from.clone()), ("to", to.clone()), ("trigger", trigger.clone())];
    if let Some(u) = user_filter {
        keep.push(("user", u.to_string()));
    }
    let next = page.next_cursor.as_ref().map(|c| {
        let mut pairs: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push(("cursor", c));
        format!("/console/activation-log?{}", ui::query_string(&pairs))
    });
    let body = html! {
        (ui::page_head("Activation log", Some("Every deactivation and reactivation in this account, newest first: who, when, why and what triggered it."), html! {}))
        form.filters method="get" action="/console/activation-log" role="search" aria-label="Filter the activation log" {
            @if let Some(u) = user_filter { input type="hidden" name="user" value=(u); }
            (Field::new("from", "From", &from).kind("datetime-local").hint(&format!("In {zone}.")).render(&issues))
            (Field::new("to", "Before", &to).kind("datetime-local").render(&issues))
            div.field {
                label for="f-trigger" { "Triggered by" }
                select #f-trigger name="trigger" {
                    option value="" selected[trigger.is_empty()] { "Anything" }
                    @for c in ActivationCause::ALL {
                        option value=(c.as_str()) selected[trigger == c.as_str()] { (cause_label(c)) }
                    }
                }
            }
            div.filter-actions {
                button.button type="submit" { "Filter" }
                a.button.subtle href="/console/activation-log" { "Clear" }
            }
        }
        (log_table(&page.items, true))
        @if let Some(next) = next { nav.pager aria-label="Pages" { a.button href=(next) rel="next" { "Older" } } }
    };
    let status = if issues.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, user.page(Nav::Activity, "Activation log", body)).into_response())
}
