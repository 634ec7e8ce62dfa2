//! The outbox: the account's mail with its state, attempts and last error (never its text),
//! filtered by state, with a retry button for failed messages.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::outbox::service::STATES;
use crate::state::AppState;

const PAGE: i64 = 100;

/// `GET /console/outbox?state=failed&before=ID`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let chosen = first(&q, "state").filter(|s| STATES.contains(s)).unwrap_or("");
    let states: Vec<String> = if chosen.is_empty() { Vec::new() } else { vec![chosen.to_string()] };
    let before = first(&q, "before").and_then(|b| b.parse().ok());
    let (items, next) = crate::outbox::service::list(&state, account.id, &states, before, PAGE).await.or_fail(&user)?;
    let manage = user.can(Permission::SettingsManage);
    let notice =
        (first(&q, "notice") == Some("retried")).then_some("The message is queued again and will be sent shortly.");
    let body = html! {
        (ui::page_head("Mail", Some("Mail Roster sends (reset links, sign-in codes): its state and, when it failed, why. The text is never shown."), html! {}))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        p.muted { "Delivered by " (state.mail.describe()) "." }
        form.filters method="get" action="/console/outbox" {
            div.field {
                label for="f-state" { "State" }
                select #f-state name="state" {
                    option value="" selected[chosen.is_empty()] { "Any" }
                    @for s in STATES { option value=(s) selected[chosen == s] { (s) } }
                }
            }
            button.button type="submit" { "Show" }
        }
        div.table-wrap #outbox-table {
            table.data.outbox {
                caption.visually-hidden { "Mail" }
                thead { tr {
                    th scope="col" { "To" }
                    th scope="col" { "Subject" }
                    th scope="col" { "Kind" }
                    th scope="col" { "State" }
                    th scope="col" { "Attempts" }
                    th scope="col" { "Last error" }
                    th scope="col" { "Queued" }
                    th scope="col" { "Sent / next attempt" }
                    @if manage { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @if items.is_empty() { tr { td.empty colspan=(if manage { 9 } else { 8 }) { "No mail." } } }
                    @for m in &items {
                        tr id=(format!("mail-{}", m.id)) {
                            td { (m.to) }
                            td { (m.subject) }
                            td { code { (m.kind) } }
                            td { span class=(format!("badge state-{}", m.state)) { (m.state) } }
                            td { (m.attempts) }
                            td { @match &m.last_error { Some(e) => (e), None => span.muted { "—" } } }
                            td.nowrap { (ui::time_text(Some(&m.created_at))) }
                            td.nowrap { (ui::time_text(m.sent_at.as_deref().or(m.next_attempt_at.as_deref()).or(m.failed_at.as_deref()))) }
                            @if manage {
                                td.actions {
                                    @if m.retryable {
                                        button.button.small type="button" hx-post=(format!("/console/outbox/{}/retry", m.id)) {
                                            "Retry" span.visually-hidden { " mail to " (m.to) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            p { a.button href=(format!("/console/outbox?{}", ui::query_string(&[("state", chosen), ("before", &next.to_string())]))) { "Older mail" } }
        }
    };
    Ok(user.page(Nav::Outbox, "Mail", body))
}

/// `POST /console/outbox/{id}/retry`.
pub(super) async fn retry(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    crate::outbox::service::retry(&state, &principal, id).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/outbox?notice=retried"))
}
