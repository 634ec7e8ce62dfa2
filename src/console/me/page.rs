//! My account: what Roster knows about me, changing my own password (R10: the account's
//! policy, with confirmation) and email address (D3: with the current password), and my
//! sessions, each of which I can end (R32).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::sessions::{TableOptions, ended_row, table};
use crate::console::ui::{self, Field, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::ids::SessionId;
use crate::sessions;
use crate::state::AppState;
use crate::store::sessions::SessionFilter;
use crate::users::service::{self, UserView};

/// `GET /console/me`.
pub(in crate::console) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let me = service::get(
        &state,
        &user.caller.principal(user.caller.account, crate::access::Permission::UsersView, &user.client),
        user.caller.user,
    )
    .await
    .or_fail(&user)?;
    let notice = match first(&q, "notice") {
        Some("password") => Some(match first(&q, "ended").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) {
            0 => "Your password was changed.".to_string(),
            1 => "Your password was changed. Your 1 other session was ended.".to_string(),
            n => format!("Your password was changed. Your {n} other sessions were ended."),
        }),
        Some("email") => {
            Some("Your email address was changed. Password-reset links sent before no longer work.".to_string())
        }
        Some("email_removed") => Some("Your email address was removed.".to_string()),
        Some("ended_others") => Some(match first(&q, "ended").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) {
            0 => "You had no other sessions.".to_string(),
            1 => "Your other session was ended.".to_string(),
            n => format!("Your {n} other sessions were ended."),
        }),
        _ => None,
    };
    let body = html! {
        (ui::page_head("My account", Some("Your details, your password, your email address and where you are signed in."), html! {}))
        @if let Some(n) = &notice { (ui::alert("success", n)) }
        div.me-grid {
            (details(&user, &me))
            (password_form(&user, &[]))
            (email_form(me.email.as_deref(), me.email.as_deref().unwrap_or_default(), &[]))
        }
        (my_sessions(&state, &user).await?)
    };
    Ok(user.page(Nav::Me, "My account", body))
}

fn details(user: &ConsoleUser, me: &UserView) -> Markup {
    html! {
        section.panel aria-labelledby="me-details" {
            h2 #me-details { "Details" }
            dl.facts {
                dt { "Name" } dd { (me.display_name) }
                dt { "Login" } dd { code { (me.login) } }
                dt { "Account" } dd { (user.account_name) " " span.muted { "(" (user.caller.account_slug) ")" } }
                dt { "Email" } dd {
                    @match me.email.as_deref() { Some(e) => (e), None => span.muted { "—" } }
                    " · " a href="#me-email" { "Change email address" }
                }
                dt { "Roles" } dd {
                    @if me.assignments.roles.is_empty() { span.muted { "None" } }
                    div.badges { @for r in &me.assignments.roles { span.badge.role title=[r.description.as_deref().filter(|d| !d.is_empty())] { (r.name) } } }
                }
                dt { "Password changed" } dd { (ui::time_text(me.password_changed_at.as_deref())) }
                dt { "Password expires" } dd {
                    @match me.password_expires_at.as_deref() {
                        Some(at) => (ui::time_text(Some(at))),
                        None => "Never",
                    }
                }
                dt { "Two-factor" } dd {
                    (me.two_factor_method.label()) " · " a href="/console/me/second-factor" { "Manage two-factor" }
                }
            }
        }
    }
}

fn password_form(user: &ConsoleUser, issues: &[FieldIssue]) -> Markup {
    let hint = user.caller.home_account.security.password_policy.describe();
    let hint = ui::sentence(&hint);
    html! {
        form #me-password .panel hx-post="/console/me/password" hx-target="this" hx-swap="outerHTML" novalidate aria-labelledby="me-password-title" {
            h2 #me-password-title { "Change my password" }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "Your password was not changed: see the messages below." }
            }
            (Field::new("current_password", "Current password", "").kind("password").required().autocomplete("current-password").render(issues))
            (Field::new("new_password", "New password", "").kind("password").required().autocomplete("new-password").hint(&hint).render(issues))
            (Field::new("new_password_confirmation", "Confirm the new password", "").kind("password").required().autocomplete("new-password").render(issues))
            p.muted { "Your other sessions end when the password changes; this one goes on." }
            div.form-actions { button.button.primary type="submit" { "Change password" } }
        }
    }
}

/// "Email address": a new address (blank removes it) and the current password (D3).
fn email_form(current: Option<&str>, value: &str, issues: &[FieldIssue]) -> Markup {
    html! {
        form #me-email .panel hx-post="/console/me/email" hx-target="this" hx-swap="outerHTML" novalidate aria-labelledby="me-email-title" {
            h2 #me-email-title { "Email address" }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "Your email address was not changed: see the messages below." }
            }
            p.muted {
                @match current {
                    Some(e) => { "Now: " strong { (e) } ". " }
                    None => { "You have no email address yet. " }
                }
                "It receives password-reset links and sign-in codes."
            }
            (Field::new("email", "New email address", value).kind("email").autocomplete("email").maxlength(254)
                .hint("Leave blank to remove your address. Reset links sent to the old one stop working.").render(issues))
            (Field::new("current_password", "Current password", "").kind("password").required().autocomplete("current-password").render(issues))
            div.form-actions { button.button.primary type="submit" { "Change email address" } }
        }
    }
}

/// `POST /console/me/email`: through `auth::change_own_email`, which checks the password.
pub(in crate::console) async fn change_email(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let current = first(&form, "current_password").unwrap_or_default();
    let email = first(&form, "email").unwrap_or_default().trim().to_string();
    let me = service::get(
        &state,
        &user.caller.principal(user.caller.account, crate::access::Permission::UsersView, &user.client),
        user.caller.user,
    )
    .await
    .or_fail(&user)?;
    let shown = |issues: &[FieldIssue]| {
        (StatusCode::UNPROCESSABLE_ENTITY, email_form(me.email.as_deref(), &email, issues)).into_response()
    };
    if current.is_empty() {
        return Ok(shown(&[FieldIssue::new("current_password", "required", "enter your current password")]));
    }
    let new = (!email.is_empty()).then(|| email.clone());
    if new.as_deref() == me.email.as_deref() {
        let what = if new.is_some() { "is already your email address" } else { "you have no email address to remove" };
        return Ok(shown(&[FieldIssue::new("email", "unchanged", what)]));
    }
    let removed = new.is_none();
    match crate::me::service::change_own_email(
        &state,
        &user.caller,
        &user.client,
        SecretString::from(current.to_string()),
        new,
    )
    .await
    {
        Ok(_) => {
            Ok(go(user.htmx, if removed { "/console/me?notice=email_removed" } else { "/console/me?notice=email" }))
        }
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => Ok(shown(&err.field_issues())),
        Err(err) => Err(user.fail(err)),
    }
}

async fn my_sessions(state: &AppState, user: &ConsoleUser) -> Result<Markup, Failure> {
    let filter = SessionFilter { user: Some(user.caller.user), ..Default::default() };
    let security = &user.caller.home_account.security;
    let (items, _) = sessions::service::list(
        state,
        &user.caller.principal(user.caller.account, crate::access::Permission::SessionsView, &user.client),
        security,
        &filter,
        500,
        Some(user.caller.session),
    )
    .await
    .or_fail(user)?;
    let others = items.iter().filter(|s| s.current != Some(true)).count();
    Ok(html! {
        section.me-sessions aria-labelledby="me-sessions-title" {
            div.section-head {
                h2 #me-sessions-title { "My sessions" }
                @if others > 0 {
                    button.button.danger type="button" hx-post="/console/me/sessions/end-others"
                        hx-confirm="End all your other sessions? Everywhere else you are signed out at once." {
                        "End all my other sessions"
                    }
                }
            }
            (table(&items, &TableOptions {
                caption: "My sessions",
                with_user: false,
                end_base: Some("/console/me/sessions".into()),
                empty: "No sessions.",
            }))
        }
    })
}

/// `POST /console/me/password`.
pub(in crate::console) async fn change_password(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let current = first(&form, "current_password").unwrap_or_default();
    let new = first(&form, "new_password").unwrap_or_default();
    let confirmation = first(&form, "new_password_confirmation").unwrap_or_default();
    let mut issues = Vec::new();
    if current.is_empty() {
        issues.push(FieldIssue::new("current_password", "required", "enter your current password"));
    }
    if new.is_empty() {
        issues.push(FieldIssue::new("new_password", "required", "enter a new password"));
    } else if confirmation != new {
        issues.push(FieldIssue::new("new_password_confirmation", "mismatch", "does not match the new password"));
    }
    if !issues.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, password_form(&user, &issues)).into_response());
    }
    let result = crate::me::service::change_own_password(
        &state,
        &user.caller,
        &user.client,
        SecretString::from(current.to_string()),
        SecretString::from(new.to_string()),
    )
    .await;
    match result {
        Ok(ended) => Ok(go(user.htmx, &format!("/console/me?notice=password&ended={ended}"))),
        Err(Error::Validation(issues)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, password_form(&user, &issues)).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `POST /console/me/sessions/{id}/end`: one of my sessions.
pub(in crate::console) async fn end_session(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let me = user.caller.principal(user.caller.account, crate::access::Permission::SessionsManage, &user.client);
    sessions::service::end(&state, &me, SessionId(id), Some(user.caller.user)).await.or_fail(&user)?;
    if id == user.caller.session.0 {
        return Ok(go(user.htmx, "/login"));
    }
    Ok(ended_row())
}

/// `POST /console/me/sessions/end-others`.
pub(in crate::console) async fn end_others(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Response, Failure> {
    let actor = user.caller.actor(&user.client);
    let ended = sessions::service::end_all_for(
        &state,
        &actor,
        user.caller.user,
        &user.caller.login,
        Some(user.caller.session),
        "ended_by_user",
    )
    .await
    .or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/me?notice=ended_others&ended={ended}")))
}
