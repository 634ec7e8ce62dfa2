//! Seats (R20): the Seats panel for admins and Financial users (`billing.view`), and the
//! used/total line the Users page loads beside its table.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::extract::{ConsoleUser, Failure, OrFail};
use super::ui::{self, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::state::AppState;
use crate::users::seats::{self, SeatsView};

const HOLDERS: i64 = 100;

fn used_of(s: &SeatsView) -> String {
    match s.total {
        Some(total) => format!("{} of {total} seats used", s.used),
        None => format!("{} seats used (no limit)", s.used),
    }
}

/// `GET /console/seats/summary`: one line, loaded by the Users page after it is shown, so that
/// counting an account's members never holds the page up.
pub(super) async fn summary(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::BillingView).await?;
    let principal = user.principal(&account, Permission::BillingView);
    let s = seats::report(&state, &principal, None, 1).await.or_fail(&user)?;
    let full = s.free == Some(0);
    Ok(html! {
        a.seat-line.status-locked[full] href="/console/seats" { (used_of(&s)) @if full { " — full" } }
    }
    .into_response())
}

/// `GET /console/seats`.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::BillingView).await?;
    let cursor = first(&q, "cursor");
    let principal = user.principal(&account, Permission::BillingView);
    let s = seats::report(&state, &principal, cursor, HOLDERS).await.or_fail(&user)?;
    let body = html! {
        (ui::page_head("Seats", Some("Active members occupy a seat, and so do members deactivated for a time with a date of return; end users do not."), html! {}))
        dl.facts #seat-count {
            dt { "Used" } dd { (s.used) }
            dt { "Total" } dd { @match s.total { Some(t) => (t), None => "No limit" } }
            @if let Some(free) = s.free { dt { "Free" } dd { (free) } }
        }
        p.muted { "The platform operator sets the number of seats." }
        h2 { "By role" }
        div.table-wrap {
            table.data #seats-by-role {
                caption.visually-hidden { "Seats by role" }
                thead { tr { th scope="col" { "Role" } th scope="col" { "Seats" } } }
                tbody {
                    @if s.by_role.is_empty() { tr { td.empty colspan="2" { "No seat is used." } } }
                    @for r in &s.by_role {
                        tr {
                            td { @match &r.name { Some(n) => (n), None => span.muted { "No role" } } }
                            td { (r.count) }
                        }
                    }
                }
            }
        }
        p.hint { "A member with several roles counts under each." }
        h2 { "Who occupies them" }
        @if !user.can(Permission::UsersView) { p.muted { "Seeing who needs the permission users.view." } }
        div.table-wrap {
            table.data #seat-holders {
                caption.visually-hidden { "Seat holders" }
                thead { tr { th scope="col" { "User" } th scope="col" { "Status" } } }
                tbody {
                    @for h in &s.holders {
                        tr {
                            td { a href=(format!("/console/users/{}/edit", h.id)) { (h.login) } }
                            td {
                                @match &h.returns_at {
                                    Some(at) if h.status != "active" => { "Deactivated, back " (ui::time_text(Some(at))) },
                                    _ => "Active",
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &s.next_cursor {
            nav.pager aria-label="Pages" { a.button href=(format!("/console/seats?{}", ui::query_string(&[("cursor", next)]))) rel="next" { "Next" } }
        }
    };
    Ok(user.page(Nav::Seats, "Seats", body))
}
