//! Time groups (R16) in the console: the list, and a form with a line of ranges per weekday
//! (`09:00-12:00, 13:00-17:00`) and holidays, one date a line.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::error::{Error, FieldIssue};
use crate::ids::TimeGroupId;
use crate::state::AppState;
use crate::time_groups::schedule::{DaysText, RangeText, WEEKDAYS};
use crate::time_groups::service::{self, TimeGroupInput, TimeGroupView};

/// `GET /console/time-groups`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TimeGroupsView).await?;
    let items = super::queues::time_group_choices(&state, account.id).await.or_fail(&user)?;
    let manage = user.can(Permission::TimeGroupsManage);
    let notice = match first(&q, "notice") {
        Some("saved") => Some("The time group was saved."),
        Some("deleted") => Some("The time group was deleted."),
        _ => None,
    };
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/queues" { "Queues" } " / " span aria-current="page" { "Time groups" } }
        (ui::page_head("Time groups", Some("Weekly hours in a time zone, with holidays: when an agent is a member of a queue."), html! {
            @if manage { a.button.primary href="/console/time-groups/new" { "New time group" } }
        }))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        div.table-wrap {
            table.data #time-groups {
                caption.visually-hidden { "Time groups" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Time zone" }
                    th scope="col" { "Hours" }
                    th scope="col" { "Now" }
                    th scope="col" { "Used by" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if items.is_empty() { tr { td.empty colspan="6" { "No time groups." } } }
                    @for g in &items {
                        tr {
                            td { span.user-login { (g.name) } @if !g.description.is_empty() { br; span.muted { (g.description) } } }
                            td { (g.time_zone) }
                            td { (summary(g)) }
                            td { @if g.in_effect_now { span.status.status-active { "In effect" } } @else { span.muted { "Not now" } } }
                            td { (g.in_use) @if g.in_use == 1 { " membership" } @else { " memberships" } }
                            td.actions.nowrap {
                                @if manage {
                                    a.button.subtle.small href=(format!("/console/time-groups/{}/edit", g.id)) { "Edit" span.visually-hidden { " " (g.name) } }
                                    " "
                                    button.button.subtle.small.danger-text type="button" hx-post=(format!("/console/time-groups/{}/delete", g.id))
                                        hx-confirm=(format!("Delete the time group {}?", g.name)) { "Delete" span.visually-hidden { " " (g.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(user.page(Nav::Queues, "Time groups", body))
}

/// "Mon 09:00–17:00; Fri 22:00–06:00 · 2 holidays".
fn summary(g: &TimeGroupView) -> String {
    let mut parts = Vec::new();
    for day in WEEKDAYS {
        let ranges = day_line(g, day);
        if !ranges.is_empty() {
            parts.push(format!("{}{} {ranges}", day[..1].to_uppercase(), &day[1..3]));
        }
    }
    let mut text = if parts.is_empty() { "No hours".to_string() } else { parts.join("; ") };
    if !g.holidays.is_empty() {
        text.push_str(&format!(" · {} holiday{}", g.holidays.len(), if g.holidays.len() == 1 { "" } else { "s" }));
    }
    text
}

/// A day's ranges as the form writes them: `09:00-12:00, 13:00-17:00`.
fn day_line(g: &TimeGroupView, day: &str) -> String {
    let ranges: Vec<RangeText> =
        g.days.get(day).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    ranges.iter().map(|r| format!("{}-{}", r.from, r.to)).collect::<Vec<_>>().join(", ")
}

#[derive(Default)]
struct Values {
    name: String,
    description: String,
    time_zone: String,
    days: Vec<String>,
    holidays: String,
    version: i64,
}

impl Values {
    fn of(g: &TimeGroupView) -> Values {
        Values {
            name: g.name.clone(),
            description: g.description.clone(),
            time_zone: g.time_zone.clone(),
            days: WEEKDAYS.iter().map(|d| day_line(g, d)).collect(),
            holidays: g.holidays.join("\n"),
            version: g.version,
        }
    }

    fn from_form(f: &Pairs) -> Values {
        Values {
            name: first(f, "name").unwrap_or_default().trim().to_string(),
            description: first(f, "description").unwrap_or_default().trim().to_string(),
            time_zone: first(f, "time_zone").unwrap_or_default().trim().to_string(),
            days: WEEKDAYS.iter().map(|d| first(f, d).unwrap_or_default().trim().to_string()).collect(),
            holidays: first(f, "holidays").unwrap_or_default().to_string(),
            version: first(f, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// The API's input: a line `09:00-12:00, 13:00-17:00` per day (a range the service cannot
    /// read is sent as written, for it to name).
    fn input(&self) -> TimeGroupInput {
        let mut days = DaysText::new();
        for (day, line) in WEEKDAYS.iter().zip(&self.days) {
            let ranges = line
                .split([',', ';'])
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| {
                    let (from, to) = r.split_once(['-', '–']).unwrap_or((r, ""));
                    RangeText { from: from.trim().to_string(), to: to.trim().to_string() }
                })
                .collect();
            days.insert(day.to_string(), ranges);
        }
        TimeGroupInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            time_zone: (!self.time_zone.is_empty()).then(|| self.time_zone.clone()),
            days: Some(days),
            holidays: Some(
                self.holidays.split(['\n', ',']).map(str::trim).filter(|h| !h.is_empty()).map(str::to_string).collect(),
            ),
        }
    }
}

fn form(id: Option<i64>, v: &Values, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let action = match id {
        Some(id) => format!("/console/time-groups/{id}/edit"),
        None => "/console/time-groups/new".to_string(),
    };
    // A range's fault is named `days.monday[0].to`: shown under its day's line.
    let day_issues = |day: &str| -> Vec<&FieldIssue> {
        issues
            .iter()
            .filter(|i| i.field == format!("days.{day}") || i.field.starts_with(&format!("days.{day}[")))
            .collect()
    };
    let holiday_issues: Vec<&FieldIssue> = issues.iter().filter(|i| i.field.starts_with("holidays")).collect();
    html! {
        form #time-group-form .panel hx-post=(action) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            (ui::issues_alert("The time group was not saved", issues))
            @if id.is_some() { input type="hidden" name="version" value=(v.version); }
            div.narrow-fields {
                (Field::new("name", "Name", &v.name).required().maxlength(80).render(issues))
                (Field::new("description", "Description", &v.description).hint("Optional.").render(issues))
                (Field::new("time_zone", "Time zone", &v.time_zone)
                    .hint("IANA name, such as Europe/Berlin; empty: the account's. Hours follow its daylight saving.").render(issues))
            }
            fieldset #days {
                legend { "Hours per day" }
                p.hint { "Ranges such as 09:00-12:00, 13:00-17:00. An end not after the start runs past midnight (22:00-06:00); 00:00-24:00 is the whole day." }
                @for (n, day) in WEEKDAYS.iter().enumerate() {
                    div.field {
                        label for=(format!("f-{day}")) { (day[..1].to_uppercase()) (day[1..]) }
                        input id=(format!("f-{day}")) type="text" name=(day) value=(v.days.get(n).map(String::as_str).unwrap_or_default())
                            aria-invalid=[(!day_issues(day).is_empty()).then_some("true")];
                        (ui::field_errors(&format!("f-{day}-error"), &day_issues(day)))
                    }
                }
            }
            div.field {
                label for="f-holidays" { "Holidays" }
                textarea #f-holidays name="holidays" rows="4" { (v.holidays) }
                p.hint { "Dates closed all day, one a line, as YYYY-MM-DD." }
                (ui::field_errors("f-holidays-error", &holiday_issues))
            }
            div.form-actions {
                button.button.primary type="submit" { @if id.is_some() { "Save changes" } @else { "Create time group" } }
                a.button.subtle href="/console/time-groups" { "Cancel" }
            }
        }
    }
}

fn with_head(title: &str, form: Markup) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href="/console/queues" { "Queues" } " / " a href="/console/time-groups" { "Time groups" } " / " span aria-current="page" { (title) }
        }
        (ui::page_head(title, None, html! {}))
        (form)
    }
}

/// `GET /console/time-groups/new`.
pub(super) async fn new_page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Failure> {
    user.allow(&state, Permission::TimeGroupsManage).await?;
    let v = Values { days: vec![String::new(); 7], ..Default::default() };
    Ok(user.page(Nav::Queues, "New time group", with_head("New time group", form(None, &v, &[], None))))
}

/// `GET /console/time-groups/{id}/edit`.
pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TimeGroupsManage).await?;
    let g = service::get(&state, account.id, TimeGroupId(id)).await.or_fail(&user)?;
    let title = format!("Edit {}", g.name);
    Ok(user.page(Nav::Queues, &title, with_head(&title, form(Some(id), &Values::of(&g), &[], None))))
}

/// `POST /console/time-groups/new` and `POST /console/time-groups/{id}/edit`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    id: Option<Path<i64>>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TimeGroupsManage).await?;
    let id = id.map(|Path(id)| id);
    let v = Values::from_form(&f);
    let principal = user.principal(&account, Permission::TimeGroupsManage);
    let result = match id {
        Some(id) => service::update(&state, &principal, TimeGroupId(id), v.version, v.input()).await,
        None => service::create(&state, &principal, v.input()).await,
    };
    let (issues, top) = match result {
        Ok(_) => return Ok(go(user.htmx, "/console/time-groups?notice=saved")),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => (err.field_issues(), None),
        Err(Error::PreconditionFailed) => (
            Vec::new(),
            Some(ui::alert("error", "Someone else changed this time group; reload the page to see their change.")),
        ),
        Err(err) => return Err(user.fail(err)),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form(id, &v, &issues, top)).into_response())
}

/// `POST /console/time-groups/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::TimeGroupsManage).await?;
    let principal = user.principal(&account, Permission::TimeGroupsManage);
    service::delete(&state, &principal, TimeGroupId(id)).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/time-groups?notice=deleted"))
}
