//! The Queues page (R16): the catalog (`queues.manage`), and a queue's Members tab, where agents
//! are added and removed and their join option, position and time group set (`users.edit`).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::access::Permission;
use crate::error::{Error, FieldIssue};
use crate::ids::{QueueId, UserId};
use crate::queues::members::{self, JoinMode, MembershipInput, MembershipView, Put};
use crate::queues::service::{self, QueueInput, QueueView};
use crate::state::AppState;
use crate::time_groups::service::TimeGroupView;

/// `GET /console/queues`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::QueuesView).await?;
    let search = first(&q, "q").unwrap_or_default().to_string();
    let cursor = first(&q, "cursor").filter(|c| !c.is_empty());
    let page = service::page(&state, account.id, Some(&search), cursor, 100).await.or_fail(&user)?;
    let manage = user.can(Permission::QueuesManage);
    let notice = match first(&q, "notice") {
        Some("saved") => Some("The queue was saved."),
        Some("deleted") => Some("The queue was deleted."),
        _ => None,
    };
    let body = html! {
        (ui::page_head("Queues", Some("Call queues and the agents who answer them, in the order the queue offers calls."), html! {
            @if user.can(Permission::TimeGroupsView) { a.button.subtle href="/console/time-groups" { "Time groups" } }
            @if manage { a.button.primary href="/console/queues/new" { "New queue" } }
        }))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        form.filters method="get" action="/console/queues" role="search" aria-label="Search queues" {
            div.field.grow {
                label for="queue-q" { "Search" }
                input #queue-q type="search" name="q" value=(search) maxlength="200" placeholder="Name or number…";
            }
            div.filter-actions { button.button type="submit" { "Search" } }
        }
        div.table-wrap {
            table.data #queues {
                caption.visually-hidden { "Queues" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Number" }
                    th scope="col" { "Description" }
                    th scope="col" { "Members" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if page.items.is_empty() { tr { td.empty colspan="5" { "No queues." } } }
                    @for item in &page.items { (row(item, manage)) }
                }
            }
        }
        @if let Some(next) = &page.next_cursor {
            p { a.button.subtle href=(format!("/console/queues?{}", ui::query_string(&[("q", search.as_str()), ("cursor", next)]))) { "Next page" } }
        }
    };
    Ok(user.page(Nav::Queues, "Queues", body))
}

fn row(item: &QueueView, manage: bool) -> Markup {
    html! {
        tr {
            td { a.user-login href=(format!("/console/queues/{}", item.id)) { (item.name) } }
            td { @match &item.extension { Some(e) => { code { (e) } }, None => { span.muted { "—" } } } }
            td { @if item.description.is_empty() { span.muted { "—" } } @else { (item.description) } }
            td { a href=(format!("/console/users?queue={}", item.id)) { (item.member_count) } }
            td.actions.nowrap {
                a.button.subtle.small href=(format!("/console/queues/{}", item.id)) { "Members" span.visually-hidden { " of " (item.name) } }
                @if manage {
                    " "
                    a.button.subtle.small href=(format!("/console/queues/{}/edit", item.id)) { "Edit" span.visually-hidden { " " (item.name) } }
                    " "
                    a.button.subtle.small.danger-text href=(format!("/console/queues/{}/delete", item.id)) {
                        "Delete" span.visually-hidden { " " (item.name) }
                    }
                }
            }
        }
    }
}

#[derive(Default)]
struct Values {
    name: String,
    number: String,
    description: String,
    version: i64,
}

fn form(id: Option<i64>, v: &Values, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let action = match id {
        Some(id) => format!("/console/queues/{id}/edit"),
        None => "/console/queues/new".to_string(),
    };
    html! {
        form #queue-form .panel.narrow hx-post=(action) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            (ui::issues_alert("The queue was not saved", issues))
            @if id.is_some() { input type="hidden" name="version" value=(v.version); }
            (Field::new("name", "Name", &v.name).required().maxlength(80).render(issues))
            (Field::new("extension", "Number", &v.number).maxlength(16)
                .hint("What callers dial: digits, not a user's extension. Optional.").render(issues))
            (Field::new("description", "Description", &v.description).hint("Optional.").render(issues))
            div.form-actions {
                button.button.primary type="submit" { @if id.is_some() { "Save changes" } @else { "Create queue" } }
                a.button.subtle href="/console/queues" { "Cancel" }
            }
        }
    }
}

fn with_head(title: &str, form: Markup) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/queues" { "Queues" } " / " span aria-current="page" { (title) } }
        (ui::page_head(title, None, html! {}))
        (form)
    }
}

/// `GET /console/queues/new`.
pub(super) async fn new_page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Failure> {
    user.allow(&state, Permission::QueuesManage).await?;
    Ok(user.page(Nav::Queues, "New queue", with_head("New queue", form(None, &Values::default(), &[], None))))
}

/// `GET /console/queues/{id}/edit`.
pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::QueuesManage).await?;
    let q = service::get(&state, account.id, QueueId(id)).await.or_fail(&user)?;
    let title = format!("Edit {}", q.name);
    let v = Values {
        name: q.name.clone(),
        number: q.extension.clone().unwrap_or_default(),
        description: q.description.clone(),
        version: q.version,
    };
    Ok(user.page(Nav::Queues, &title, with_head(&title, form(Some(id), &v, &[], None))))
}

/// `POST /console/queues/new` and `POST /console/queues/{id}/edit`.
pub(super) async fn save(
    State(state): State<AppState>,
    user: ConsoleUser,
    id: Option<Path<i64>>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::QueuesManage).await?;
    let id = id.map(|Path(id)| id);
    let v = Values {
        name: first(&f, "name").unwrap_or_default().trim().to_string(),
        number: first(&f, "extension").unwrap_or_default().trim().to_string(),
        description: first(&f, "description").unwrap_or_default().trim().to_string(),
        version: first(&f, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
    };
    let input = QueueInput {
        name: Some(v.name.clone()),
        description: Some(v.description.clone()),
        extension: Some((!v.number.is_empty()).then(|| v.number.clone())),
    };
    let principal = user.principal(&account, Permission::QueuesManage);
    let result = match id {
        Some(id) => service::update(&state, &principal, QueueId(id), v.version, input).await,
        None => service::create(&state, &principal, input).await,
    };
    let (issues, top) = match result {
        Ok(_) => return Ok(go(user.htmx, "/console/queues?notice=saved")),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => (err.field_issues(), None),
        Err(Error::PreconditionFailed) => (
            Vec::new(),
            Some(ui::alert("error", "Someone else changed this queue; reload the page to see their change.")),
        ),
        Err(err) => return Err(user.fail(err)),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form(id, &v, &issues, top)).into_response())
}

/// `GET /console/queues/{id}/delete`.
pub(super) async fn delete_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::QueuesManage).await?;
    let q = service::get(&state, account.id, QueueId(id)).await.or_fail(&user)?;
    let title = format!("Delete {}", q.name);
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/queues" { "Queues" } " / " span aria-current="page" { (title) } }
        section.panel.narrow.danger-zone aria-labelledby="delete-title" {
            h1 #delete-title { "Delete the queue " (q.name) "?" }
            p {
                @if q.member_count > 0 {
                    (q.member_count) @if q.member_count == 1 { " agent is a member and leaves it. " } @else { " agents are members and leave it. " }
                }
                strong { "This cannot be undone." }
            }
            form hx-post=(format!("/console/queues/{id}/delete")) {
                div.form-actions {
                    button.button.danger type="submit" { "Delete " (q.name) }
                    a.button.subtle href="/console/queues" { "Cancel" }
                }
            }
        }
    };
    Ok(user.page(Nav::Queues, &title, body))
}

/// `POST /console/queues/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::QueuesManage).await?;
    service::delete(&state, &user.principal(&account, Permission::QueuesManage), QueueId(id)).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/queues?notice=deleted"))
}

/// The account's time groups for the membership pickers (all of them: an account has few).
pub(super) async fn time_group_choices(
    state: &AppState,
    account: crate::ids::AccountId,
) -> crate::error::Result<Vec<TimeGroupView>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = crate::time_groups::service::page(state, account, cursor.as_deref(), 500).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// `GET /console/queues/{id}`: the Members tab.
pub(super) async fn members_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let notice = match first(&q, "notice") {
        Some("added") => Some("The agent was added."),
        Some("saved") => Some("The membership was saved."),
        Some("removed") => Some("The agent was removed from the queue."),
        _ => None,
    };
    render_members(&state, &user, id, notice.map(|n| ui::alert("success", n)), &AddValues::default(), &[]).await
}

#[derive(Default)]
struct AddValues {
    login: String,
    join: String,
    position: String,
    time_group: String,
}

async fn render_members(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
    top: Option<Markup>,
    add: &AddValues,
    issues: &[FieldIssue],
) -> Result<Response, Failure> {
    let account = user.allow(state, Permission::QueuesView).await?;
    let principal = user.principal(&account, Permission::QueuesView);
    let now = state.config.clock.now();
    let list = members::of_queue(state, &principal, QueueId(id), now, false).await.or_fail(user)?;
    let edit = user.can(Permission::UsersEdit);
    let groups = match edit {
        true => time_group_choices(state, account.id).await.or_fail(user)?,
        false => Vec::new(),
    };
    let title = list.queue.name.clone();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/queues" { "Queues" } " / " span aria-current="page" { (title) } }
        (ui::page_head(&title, Some("Members in the order the queue offers calls: position 1 first; members who share a position are offered calls together."), html! {
            @if let Some(n) = &list.queue.extension { span.tag { "Number " (n) } }
            @if user.can(Permission::QueuesManage) { a.button.subtle href=(format!("/console/queues/{id}/edit")) { "Edit queue" } }
        }))
        @if let Some(t) = top { (t) }
        p.muted #members-now role="status" {
            (list.members_now) " of " (list.members.len()) " members take calls now."
        }
        div.table-wrap {
            table.data #queue-members {
                caption.visually-hidden { "Members of " (title) }
                thead { tr {
                    th scope="col" { "Position" }
                    th scope="col" { "Agent" }
                    th scope="col" { "Join" }
                    th scope="col" { "Time group" }
                    th scope="col" { "Now" }
                    @if edit { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @if list.members.is_empty() { tr { td.empty colspan="6" { "No members yet." } } }
                    @for m in &list.members { (member_row(id, m, edit, &groups, list.members_version)) }
                }
            }
        }
        @if edit { (add_form(id, add, &groups, issues, list.members_version)) }
    };
    Ok(user.page(Nav::Queues, &title, body))
}

fn now_text(m: &MembershipView) -> &'static str {
    match m.not_now_because {
        None => "Member now",
        Some("disabled") => "Deactivated",
        Some("invited") => "Not signed up yet",
        Some(_) => "Outside time group",
    }
}

fn join_select(name: &str, id: &str, selected: &str, form: Option<&str>) -> Markup {
    html! {
        select id=(id) name=(name) form=[form] {
            @for j in JoinMode::ALL {
                option value=(j.as_str()) selected[selected == j.as_str()] { (j.label()) }
            }
        }
    }
}

fn group_select(name: &str, id: &str, groups: &[TimeGroupView], selected: Option<i64>, form: Option<&str>) -> Markup {
    html! {
        select id=(id) name=(name) form=[form] {
            option value="" selected[selected.is_none()] { "Always" }
            @for g in groups {
                option value=(g.id) selected[selected == Some(g.id)] { (g.name) " (" (g.time_zone) ")" }
            }
        }
    }
}

fn member_row(queue: i64, m: &MembershipView, edit: bool, groups: &[TimeGroupView], version: i64) -> Markup {
    let uid = m.user.id;
    let form_id = format!("member-{uid}");
    html! {
        tr #(format!("member-row-{uid}")) {
            td {
                @if edit {
                    label.visually-hidden for=(format!("pos-{uid}")) { "Position of " (m.user.login) }
                    input.narrow-number id=(format!("pos-{uid}")) type="number" name="position" min="1" max="999"
                        value=(m.position) form=(form_id);
                } @else { (m.position) }
            }
            td {
                a.user-login href=(format!("/console/users/{uid}/queues")) { (m.user.login) }
                @if m.user.display_name != m.user.login { br; span.muted { (m.user.display_name) } }
                @if let Some(e) = &m.user.extension { br; span.muted { "Ext. " (e) } }
            }
            td {
                @if edit {
                    label.visually-hidden for=(format!("join-{uid}")) { "Join option of " (m.user.login) }
                    (join_select("join", &format!("join-{uid}"), m.join.as_str(), Some(&form_id)))
                } @else { (m.join.label()) }
            }
            td {
                @if edit {
                    label.visually-hidden for=(format!("tg-{uid}")) { "Time group of " (m.user.login) }
                    (group_select("time_group", &format!("tg-{uid}"), groups, m.time_group.as_ref().map(|t| t.id), Some(&form_id)))
                } @else {
                    @match &m.time_group { Some(t) => { (t.name) }, None => { "Always" } }
                }
            }
            td { span class=(if m.member_now { "status status-active" } else { "status status-disabled" }) { (now_text(m)) } }
            @if edit {
                td.actions.nowrap {
                    form #(form_id) hx-post=(format!("/console/queues/{queue}/members/{uid}")) hx-target="#main" hx-select="#main" hx-swap="outerHTML" {
                        input type="hidden" name="version" value=(version);
                        button.button.subtle.small type="submit" { "Save" span.visually-hidden { " " (m.user.login) } }
                        " "
                        button.button.subtle.small.danger-text type="button"
                            hx-post=(format!("/console/queues/{queue}/members/{uid}/remove"))
                            hx-vals=(format!(r#"{{"version":"{version}"}}"#))
                            hx-confirm=(format!("Remove {} from this queue?", m.user.login)) {
                            "Remove" span.visually-hidden { " " (m.user.login) }
                        }
                    }
                }
            }
        }
    }
}

fn add_form(queue: i64, v: &AddValues, groups: &[TimeGroupView], issues: &[FieldIssue], version: i64) -> Markup {
    html! {
        form #add-member .panel hx-post=(format!("/console/queues/{queue}/members")) hx-target="#main" hx-select="#main" hx-swap="outerHTML" novalidate {
            h2 { "Add an agent" }
            (ui::issues_alert("The agent was not added", issues))
            input type="hidden" name="version" value=(version);
            div.narrow-fields {
                (Field::new("login", "Login", &v.login).required().maxlength(64)
                    .hint("An agent's login (users flagged as agents).").render(issues))
                div.field {
                    label for="add-join" { "Join" }
                    (join_select("join", "add-join", if v.join.is_empty() { "automatic" } else { &v.join }, None))
                    p.hint { "Automatic: logged in whenever available. Manual: the agent joins and leaves." }
                }
                (Field::new("position", "Position", if v.position.is_empty() { "1" } else { &v.position })
                    .hint("1 is offered calls first; 1–999.").render(issues))
                div.field {
                    label for="add-time-group" { "Time group" }
                    (group_select("time_group", "add-time-group", groups, v.time_group.parse().ok(), None))
                }
            }
            div.form-actions { button.button.primary type="submit" { "Add to queue" } }
        }
    }
}

/// The membership a form gives (join, position, time group); a position that is not a number is
/// the service's to refuse, so it is sent as one it refuses.
fn membership_input(f: &Pairs) -> MembershipInput {
    let position = first(f, "position").map(str::trim).unwrap_or("1");
    MembershipInput {
        join: first(f, "join").map(str::to_string),
        position: Some(position.parse().unwrap_or(0)),
        time_group: Some(time_group_of(f)),
    }
}

/// The form's time group: empty is "always"; anything else must be an id (one that is not is
/// sent as an id no account has, for the service to refuse by name).
pub(super) fn time_group_of(f: &Pairs) -> Option<i64> {
    match first(f, "time_group").map(str::trim).unwrap_or_default() {
        "" => None,
        text => Some(text.parse().unwrap_or(0)),
    }
}

fn version_of(f: &Pairs) -> Option<i64> {
    first(f, "version").and_then(|v| v.parse().ok())
}

fn stale() -> Markup {
    ui::alert("error", "Someone else changed this queue's members; the list below is as it is now. Try again.")
}

/// `POST /console/queues/{id}/members`: add an agent by login.
pub(super) async fn add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let v = AddValues {
        login: first(&f, "login").unwrap_or_default().trim().to_string(),
        join: first(&f, "join").unwrap_or_default().to_string(),
        position: first(&f, "position").unwrap_or_default().trim().to_string(),
        time_group: first(&f, "time_group").unwrap_or_default().to_string(),
    };
    let principal = user.principal(&account, Permission::UsersEdit);
    let input = membership_input(&f);
    let result = members::put_by_login(&state, &principal, QueueId(id), &v.login, version_of(&f), input, Put::AddOnly)
        .await
        .map(|_| ());
    let (issues, top) = match result {
        Ok(()) => return Ok(go(user.htmx, &format!("/console/queues/{id}?notice=added"))),
        Err(Error::StateConflict(issue)) if issue.field == "user" => {
            (vec![FieldIssue::new("login", &issue.code, &issue.message)], None)
        }
        Err(err @ Error::Validation(_)) => (err.field_issues(), None),
        Err(Error::PreconditionFailed) => (Vec::new(), Some(stale())),
        Err(err) => return Err(user.fail(err)),
    };
    let response = render_members(&state, &user, id, top, &v, &issues).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
}

/// `POST /console/queues/{id}/members/{user}`: save a member's position, join option and time group.
pub(super) async fn save_member(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, member)): Path<(i64, i64)>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let input = membership_input(&f);
    let result =
        members::put(&state, &principal, QueueId(id), UserId(member), version_of(&f), input, Put::AddOrChange).await;
    let top = match result {
        Ok(_) => return Ok(go(user.htmx, &format!("/console/queues/{id}?notice=saved"))),
        Err(Error::PreconditionFailed) => stale(),
        Err(err @ Error::Validation(_)) => ui::alert_error(&err),
        Err(err) => return Err(user.fail(err)),
    };
    let response = render_members(&state, &user, id, Some(top), &AddValues::default(), &[]).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
}

/// `POST /console/queues/{id}/members/{user}/remove`.
pub(super) async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, member)): Path<(i64, i64)>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    match members::remove(&state, &principal, QueueId(id), UserId(member), version_of(&f)).await {
        Ok(()) => Ok(go(user.htmx, &format!("/console/queues/{id}?notice=removed"))),
        Err(Error::PreconditionFailed) => {
            let response = render_members(&state, &user, id, Some(stale()), &AddValues::default(), &[]).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, response).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}
