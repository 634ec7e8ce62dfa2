//! Sessions in the console (R25, R32–R34): the account's live sessions, one user's sessions
//! with "End all sessions" and the lockout's "Unlock", and the sessions table they (and My
//! account) share. Ending a session takes effect at once: its token stops working.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Nav};
use super::{Pairs, all, first};
use crate::access::Permission;
use crate::ids::{SessionId, UserId};
use crate::sessions::service::SessionView;
use crate::sessions::{self, SessionKind};
use crate::state::AppState;
use crate::store::sessions::SessionFilter;
use crate::users::service;

const PAGE_SIZE: i64 = 50;

pub(super) fn kind_label(kind: &str) -> &str {
    match kind {
        "console" => "Console",
        "api" => "API",
        "phone" => "Phone",
        other => other,
    }
}

/// Which columns and buttons a sessions table shows.
pub(super) struct TableOptions<'a> {
    pub caption: &'a str,
    /// A column naming whose session it is (the account's list).
    pub with_user: bool,
    /// `Some(url)`: an "End" button per row posting to `{url}/{session id}/end`.
    pub end_base: Option<String>,
    /// What the empty table says.
    pub empty: &'a str,
}

pub(super) fn table(items: &[SessionView], opts: &TableOptions) -> Markup {
    let columns = 6 + usize::from(opts.with_user) + usize::from(opts.end_base.is_some());
    html! {
        div.table-wrap {
            table.data.sessions {
                caption.visually-hidden { (opts.caption) }
                thead { tr {
                    @if opts.with_user { th scope="col" { "User" } }
                    th scope="col" { "Kind" }
                    th scope="col" { "Since" }
                    th scope="col" { "Last seen" }
                    th scope="col" { "Expires" }
                    th scope="col" { "Address" }
                    th scope="col" { "Device (user agent)" }
                    @if opts.end_base.is_some() { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody #session-rows {
                    @if items.is_empty() { tr { td.empty colspan=(columns) { (opts.empty) } } }
                    @for s in items { (row(s, opts)) }
                }
            }
        }
    }
}

fn row(s: &SessionView, opts: &TableOptions) -> Markup {
    let current = s.current == Some(true);
    let whose = if s.user.display_name == s.user.login {
        s.user.login.clone()
    } else {
        format!("{} ({})", s.user.display_name, s.user.login)
    };
    html! {
        tr id=(format!("session-{}", s.id)) .current-session[current] {
            @if opts.with_user {
                td { a.user-login href=(format!("/console/users/{}/sessions", s.user.id)) { (s.user.login) }
                    @if s.user.display_name != s.user.login { div.muted { (s.user.display_name) } } }
            }
            td {
                span class=(format!("kind kind-{}", s.kind)) { (kind_label(&s.kind)) }
                @if current { " " span.badge.this-session { "This session" } }
            }
            td.nowrap { (ui::time_text(Some(&s.created_at))) }
            td.nowrap { (ui::time_text(Some(&s.last_seen_at))) }
            td.nowrap { (ui::time_text(Some(&s.expires_at))) }
            td.nowrap { (s.address.as_deref().filter(|a| !a.is_empty()).map_or_else(|| html! { span.muted { "—" } }, |a| html! { (a) })) }
            td.user-agent { @match s.user_agent.as_deref().filter(|a| !a.is_empty()) {
                Some(ua) => span title=(ua) { (short_agent(ua)) },
                None => span.muted { "—" },
            } }
            @if let Some(base) = &opts.end_base {
                td.actions {
                    @if current {
                        span.visually-hidden { "This session: sign out to end it" }
                    } @else {
                        button.button.small.danger-text type="button"
                            hx-post=(format!("{base}/{}/end", s.id))
                            hx-target="closest tr" hx-swap="outerHTML"
                            hx-confirm=(format!("End this {} session of {whose}? It is signed out at once.", kind_label(&s.kind).to_lowercase())) {
                            "End" span.visually-hidden { " the " (kind_label(&s.kind).to_lowercase()) " session of " (s.user.login) }
                        }
                    }
                }
            }
        }
    }
}

/// A user agent, shortened to what fits a table cell (the whole one is on hover).
fn short_agent(ua: &str) -> String {
    const MAX: usize = 60;
    if ua.chars().count() <= MAX {
        return ua.to_string();
    }
    let mut s: String = ua.chars().take(MAX - 1).collect();
    s.push('…');
    s
}

/// The answer to an "End" button: the row goes, the flash area says so.
pub(super) fn ended_row() -> Response {
    ui::flash_oob("success", "The session was ended; it is signed out.").into_response()
}

// ---- the account's live sessions ---------------------------------------------------------

/// `GET /console/sessions?kind=console&kind=phone&login=ann&cursor=123`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SessionsView).await?;
    let principal = user.principal(&account, Permission::SessionsView);
    let kinds: Vec<String> = all(&q, "kind").filter_map(SessionKind::parse).map(|k| k.as_str().to_string()).collect();
    let login = first(&q, "login").unwrap_or_default().trim().chars().take(64).collect::<String>();
    let cursor = first(&q, "cursor").and_then(|c| c.parse::<i64>().ok());
    let mut unknown_login = false;
    let user_id = if login.is_empty() {
        None
    } else {
        // A login out of the viewer's scope (D8) is as unknown as one that does not exist.
        let found = sessions::service::seen_user_by_login(&state, &principal, &login).await.or_fail(&user)?;
        unknown_login = found.is_none();
        found
    };
    let (items, next) = if unknown_login {
        (Vec::new(), None)
    } else {
        let filter = SessionFilter { user: user_id, kinds: kinds.clone(), before: cursor, ..Default::default() };
        sessions::service::list(&state, &principal, &account.security, &filter, PAGE_SIZE, Some(user.caller.session))
            .await
            .or_fail(&user)?
    };
    let mut keep: Vec<(&str, &str)> = kinds.iter().map(|k| ("kind", k.as_str())).collect();
    keep.push(("login", &login));
    let url = |cursor: Option<String>| {
        let mut pairs = keep.clone();
        let c = cursor.unwrap_or_default();
        pairs.push(("cursor", &c));
        let query = ui::query_string(&pairs);
        if query.is_empty() { "/console/sessions".to_string() } else { format!("/console/sessions?{query}") }
    };
    let manage = user.can(Permission::SessionsManage);
    let filtered = !kinds.is_empty() || !login.is_empty();
    let empty = if unknown_login {
        format!("No user has the login “{login}”.")
    } else if filtered {
        "No live sessions match these filters.".to_string()
    } else {
        "Nobody is signed in.".to_string()
    };
    let body = html! {
        (ui::page_head("Live sessions", Some("Who is signed in to this account, newest first. Ending a session signs it out at once."), html! {}))
        form.filters method="get" action="/console/sessions" role="search" aria-label="Filter sessions" {
            fieldset.field.inline-checks {
                legend { "Kind" }
                @for k in [SessionKind::Console, SessionKind::Api, SessionKind::Phone] {
                    (ui::checkbox("kind", k.as_str(), kind_label(k.as_str()), kinds.iter().any(|v| v == k.as_str()), &format!("filter-kind-{}", k.as_str())))
                }
            }
            div.field {
                label for="filter-login" { "User" }
                input #filter-login type="search" name="login" value=(login) maxlength="64" placeholder="Login" autocapitalize="none" spellcheck="false";
            }
            div.filter-actions {
                button.button type="submit" { "Apply filters" }
                @if filtered { a.button.subtle href="/console/sessions" { "Clear" } }
            }
        }
        (table(&items, &TableOptions {
            caption: "Live sessions",
            with_user: true,
            end_base: manage.then(|| "/console/sessions".to_string()),
            empty: &empty,
        }))
        nav.pager aria-label="Pages" {
            @if cursor.is_some() { a.button href=(url(None)) { "First page" } }
            @if let Some(next) = next { a.button href=(url(Some(next.to_string()))) rel="next" { "Next page" } }
        }
    };
    Ok(user.page(Nav::Sessions, "Live sessions", body))
}

/// `POST /console/sessions/{id}/end`.
pub(super) async fn end(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SessionsManage).await?;
    let principal = user.principal(&account, Permission::SessionsManage);
    sessions::service::end(&state, &principal, SessionId(id), None).await.or_fail(&user)?;
    if id == user.caller.session.0 {
        return Ok(go(user.htmx, "/login"));
    }
    Ok(ended_row())
}

// ---- one user's sessions, lockout ---------------------------------------------------------

/// `GET /console/users/{id}/sessions`: the user's sign-in state (locked?) and live sessions.
pub(super) async fn user_sessions(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    // Seeing sessions needs sessions.view; lifting a lockout users.passwords. Either opens the page.
    let needed = if user.can(Permission::SessionsView) { Permission::SessionsView } else { Permission::UsersPasswords };
    let account = user.allow(&state, needed).await?;
    let principal = user.principal(&account, needed);
    // Seeing sessions is open for any user in scope; without it the page is only for unlocking,
    // which a user out of reach (D2) is refused: 403 here, as the unlock would be.
    let view = match needed {
        Permission::SessionsView => service::get(&state, &principal, UserId(id)).await,
        _ => crate::users::reach::changeable(&state, &principal, UserId(id)).await,
    }
    .or_fail(&user)?;
    let offers = super::users::offers::Acting::load(&state, &user, &account, &[view.id])
        .await
        .or_fail(&user)?
        .offers(view.id, view.locked_until.is_some());
    let items = if user.can(Permission::SessionsView) {
        let filter = SessionFilter { user: Some(view.id), ..Default::default() };
        Some(
            sessions::service::list(&state, &principal, &account.security, &filter, 500, Some(user.caller.session))
                .await
                .or_fail(&user)?
                .0,
        )
    } else {
        None
    };
    // Ending sessions and unlocking are offered only on a user in reach (D2).
    let manage = offers.end_sessions;
    let notice = match first(&q, "notice") {
        Some("unlocked") => Some("The user was unlocked: they can sign in again.".to_string()),
        Some("not_locked") => Some("The user was not locked.".to_string()),
        Some("ended") => Some(match first(&q, "count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(0) {
            0 => "The user had no sessions to end.".to_string(),
            1 => "1 session was ended.".to_string(),
            n => format!("{n} sessions were ended."),
        }),
        _ => None,
    };
    let title = format!("Sessions of {}", view.login);
    let body = html! {
        (super::users::actions::breadcrumbs(&view, "Sessions"))
        (ui::page_head(&title, Some("Where this user is signed in. Ending a session signs it out at once."), html! {
            @if manage && items.as_ref().is_some_and(|i| !i.is_empty()) {
                button.button.danger type="button" hx-post=(format!("/console/users/{id}/sessions/end-all"))
                    hx-confirm=(format!("End all sessions of {}? They are signed out everywhere at once.", view.login)) {
                    "End all sessions"
                }
            }
        }))
        @if let Some(n) = &notice { (ui::alert("success", n)) }
        @if offers.out_of_reach {
            p.reach-note { (super::users::list::out_of_reach_hint(&view.login)) " You can see these sessions, but not end them or unlock the user." }
        }
        @if let Some(until) = &view.locked_until {
            section.panel.lock-panel aria-labelledby="lock-title" {
                h2 #lock-title { span.status.status-locked { "Locked" } " Sign-in is locked" }
                p { "After too many failed sign-ins, " (view.login) " cannot sign in until " (ui::time_text(Some(until))) "." }
                @if offers.unlock {
                    form hx-post=(format!("/console/users/{id}/unlock")) {
                        button.button.primary type="submit" { "Unlock " (view.login) }
                    }
                }
            }
        }
        @match &items {
            Some(items) => (table(items, &TableOptions {
                caption: &title,
                with_user: false,
                end_base: manage.then(|| format!("/console/users/{id}/sessions")),
                empty: "This user is not signed in anywhere.",
            })),
            None => p.muted { "Seeing sessions needs the permission sessions.view." },
        }
    };
    Ok(user.page(Nav::Users, &title, body))
}

/// `POST /console/users/{id}/sessions/{session}/end`.
pub(super) async fn end_user_session(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, session)): Path<(i64, i64)>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SessionsManage).await?;
    let principal = user.principal(&account, Permission::SessionsManage);
    sessions::service::end(&state, &principal, SessionId(session), Some(UserId(id))).await.or_fail(&user)?;
    if session == user.caller.session.0 {
        return Ok(go(user.htmx, "/login"));
    }
    Ok(ended_row())
}

/// `POST /console/users/{id}/sessions/end-all` (R32).
pub(super) async fn end_all(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SessionsManage).await?;
    let principal = user.principal(&account, Permission::SessionsManage);
    let view = service::get(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let ended =
        sessions::service::end_all_of_reachable(&state, &principal, view.id, "ended_by_admin").await.or_fail(&user)?;
    if view.id == user.caller.user {
        return Ok(go(user.htmx, "/login"));
    }
    Ok(go(user.htmx, &format!("/console/users/{id}/sessions?notice=ended&count={ended}")))
}

/// `POST /console/users/{id}/unlock`: lifts a lockout after too many failed sign-ins.
pub(super) async fn unlock(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersPasswords).await?;
    let principal = user.principal(&account, Permission::UsersPasswords);
    let was_locked = service::unlock(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let notice = if was_locked { "unlocked" } else { "not_locked" };
    Ok(go(user.htmx, &format!("/console/users/{id}/sessions?notice={notice}")))
}
