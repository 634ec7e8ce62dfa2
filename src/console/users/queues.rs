//! A user's Queues tab (R16): the queues they are a member of, with join option, position, time
//! group and whether they take calls now; an agent is added to a queue or removed here too.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::console::{Catalog, Pairs, first};
use crate::error::Error;
use crate::ids::{QueueId, UserId};
use crate::queues::members::{self, JoinMode, MembershipInput, Put};
use crate::state::AppState;

/// `GET /console/users/{id}/queues`.
pub(in crate::console) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let notice = match first(&q, "notice") {
        Some("added") => Some(ui::alert("success", "Added to the queue.")),
        Some("removed") => Some(ui::alert("success", "Removed from the queue.")),
        _ => None,
    };
    render(&state, &user, id, notice).await
}

async fn render(state: &AppState, user: &ConsoleUser, id: i64, top: Option<maud::Markup>) -> Result<Response, Failure> {
    let account = user.allow(state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let view = crate::users::service::get(state, &principal, UserId(id)).await.or_fail(user)?;
    let memberships = members::of_user(state, &principal, UserId(id)).await.or_fail(user)?;
    let edit = user.can(Permission::UsersEdit) && view.flags.is_agent;
    let (queues, groups) = match edit {
        true => (
            Catalog::load(state, account.id).await.or_fail(user)?.queues,
            crate::console::queues::time_group_choices(state, account.id).await.or_fail(user)?,
        ),
        false => (Vec::new(), Vec::new()),
    };
    let free: Vec<_> = queues.iter().filter(|q| !memberships.iter().any(|m| m.queue.id == q.id)).collect();
    let title = format!("Queues of {}", view.login);
    let body = html! {
        (super::actions::breadcrumbs(&view, "Queues"))
        (ui::page_head(&title, Some("The call queues this agent answers, in each queue's order."),
            html! { a.button.subtle href=(format!("/console/users/{id}/edit")) { "Edit user" } }))
        @if let Some(t) = top { (t) }
        @if !view.flags.is_agent {
            (ui::alert("info", "Only agents are queue members: flag this user as an agent on their page first."))
        }
        div.table-wrap {
            table.data #user-queues {
                caption.visually-hidden { (title) }
                thead { tr {
                    th scope="col" { "Queue" }
                    th scope="col" { "Join" }
                    th scope="col" { "Position" }
                    th scope="col" { "Time group" }
                    th scope="col" { "Now" }
                    @if edit { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @if memberships.is_empty() { tr { td.empty colspan="6" { "Not a member of any queue." } } }
                    @for m in &memberships {
                        tr {
                            td { a href=(format!("/console/queues/{}", m.queue.id)) { (m.queue.name) }
                                @if let Some(e) = &m.queue.extension { " " span.muted { "(" (e) ")" } } }
                            td { (m.join.label()) }
                            td { (m.position) }
                            td { @match &m.time_group { Some(t) => { (t.name) }, None => { "Always" } } }
                            td { span class=(if m.member_now { "status status-active" } else { "status status-disabled" }) {
                                @if m.member_now { "Member now" } @else { "Not now" } } }
                            @if edit {
                                td.actions.nowrap {
                                    button.button.subtle.small.danger-text type="button"
                                        hx-post=(format!("/console/users/{id}/queues/{}/remove", m.queue.id))
                                        hx-confirm=(format!("Remove {} from {}?", view.login, m.queue.name)) {
                                        "Remove" span.visually-hidden { " from " (m.queue.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if edit && !free.is_empty() {
            form #add-to-queue .panel hx-post=(format!("/console/users/{id}/queues")) hx-target="#main" hx-select="#main" hx-swap="outerHTML" {
                h2 { "Add to a queue" }
                div.narrow-fields {
                    div.field {
                        label for="add-queue" { "Queue" }
                        select #add-queue name="queue" {
                            @for q in &free { option value=(q.id) { (q.name) } }
                        }
                    }
                    div.field {
                        label for="add-join" { "Join" }
                        select #add-join name="join" {
                            @for j in JoinMode::ALL { option value=(j.as_str()) { (j.label()) } }
                        }
                    }
                    div.field {
                        label for="add-position" { "Position" }
                        input #add-position type="number" name="position" min="1" max="999" value="1";
                        p.hint { "1 is offered calls first." }
                    }
                    div.field {
                        label for="add-time-group" { "Time group" }
                        select #add-time-group name="time_group" {
                            option value="" { "Always" }
                            @for g in &groups { option value=(g.id) { (g.name) " (" (g.time_zone) ")" } }
                        }
                    }
                }
                div.form-actions { button.button.primary type="submit" { "Add to queue" } }
            }
        }
    };
    Ok(user.page(Nav::Users, &title, body))
}

/// `POST /console/users/{id}/queues`.
pub(in crate::console) async fn add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let queue = first(&f, "queue").and_then(|q| q.parse().ok()).unwrap_or(0);
    let input = MembershipInput {
        join: first(&f, "join").map(str::to_string),
        position: Some(first(&f, "position").and_then(|p| p.trim().parse().ok()).unwrap_or(0)),
        time_group: Some(crate::console::queues::time_group_of(&f)),
    };
    match members::put(&state, &principal, QueueId(queue), UserId(id), None, input, Put::AddOnly).await {
        Ok(_) => Ok(go(user.htmx, &format!("/console/users/{id}/queues?notice=added"))),
        Err(err @ (Error::Validation(_) | Error::StateConflict(_))) => {
            let response = render(&state, &user, id, Some(ui::alert_error(&err))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/users/{id}/queues/{queue}/remove`.
pub(in crate::console) async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, queue)): Path<(i64, i64)>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    members::remove(&state, &principal, QueueId(queue), UserId(id), None).await.or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/users/{id}/queues?notice=removed")))
}
