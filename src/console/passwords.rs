//! Forgot-password in the console: the request form (linked from the sign-in page), the same
//! answer whatever matched, and the page a reset link opens.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use super::sign_in::page::same_origin;
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::auth::ClientInfo;
use crate::error::{Error, FieldIssue};
use crate::passwords::reset;
use crate::state::AppState;

/// `GET /login/forgot`.
pub(super) async fn forgot_page(Query(q): Query<Pairs>) -> Response {
    let account = first(&q, "account").unwrap_or("default");
    forgot_form(account, "", &[], None).into_response()
}

/// `POST /login/forgot`.
pub(super) async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    let account = first(&form, "account").map(str::trim).filter(|a| !a.is_empty()).unwrap_or("default");
    let key = first(&form, "login_or_email").unwrap_or_default();
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return (StatusCode::FORBIDDEN, forgot_form(account, key, &[], Some("This form was sent from another site.")))
            .into_response();
    }
    match reset::request(&state, account, key, &client).await {
        Ok(()) => sent_page(account).into_response(),
        Err(Error::Validation(issues)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, forgot_form(account, key, &issues, None)).into_response()
        }
        Err(err) => {
            if let Error::Internal(cause) = &err {
                tracing::error!(error = ?cause, "forgot-password request failed with an internal error");
            }
            let page = forgot_form(account, key, &[], Some("This is not available right now; try again shortly."));
            (err.status(), page).into_response()
        }
    }
}

fn forgot_form(account: &str, key: &str, issues: &[FieldIssue], error: Option<&str>) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="forgot-title" {
            h1 #forgot-title { "Forgot your password?" }
            p.muted { "Enter your login or email address. If it matches a user with an email address, we send a link to choose a new password." }
            @if let Some(e) = error { (ui::alert("error", e)) }
            form method="post" action="/login/forgot" {
                (Field::new("account", "Account", account).required().autocomplete("organization")
                    .hint("Your organisation's account name, usually “default”.").render(issues))
                (Field::new("login_or_email", "Login or email address", key).required().autocomplete("username").render(issues))
                button.button.primary.wide type="submit" { "Send me a link" }
            }
            p { a href=(format!("/login?account={}", ui::enc(account))) { "Back to sign-in" } }
        }
    };
    ui::layout(None, Nav::None, "Forgot your password?", body)
}

fn sent_page(account: &str) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="sent-title" {
            h1 #sent-title { "Check your mail" }
            (ui::alert("success", "If an account matches, we sent a link to choose a new password. It works for 30 minutes."))
            p.muted { "No mail after a few minutes? Check the spam folder, or ask your administrator." }
            p { a href=(format!("/login?account={}", ui::enc(account))) { "Back to sign-in" } }
        }
    };
    ui::layout(None, Nav::None, "Check your mail", body)
}

/// `GET /reset-password/{token}`: the new-password form, or why the link no longer works.
pub(super) async fn reset_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match reset::check_link(&state, &token).await {
        Ok(live) => {
            let hint = ui::sentence(&live.account.security.password_policy.describe());
            reset_form(&token, &live.user.login, Some(&hint), &[]).into_response()
        }
        Err(err) => dead_link(&err),
    }
}

/// `POST /reset-password/{token}`.
pub(super) async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return dead_link(&Error::Forbidden("this form was sent from another site".into()));
    }
    let live = match reset::check_link(&state, &token).await {
        Ok(live) => live,
        Err(err) => return dead_link(&err),
    };
    let hint = ui::sentence(&live.account.security.password_policy.describe());
    let new_password = first(&form, "new_password").unwrap_or_default();
    let confirmation = first(&form, "new_password_confirmation").unwrap_or_default();
    let issue = if new_password.is_empty() {
        Some(FieldIssue::new("new_password", "required", "enter a new password"))
    } else if new_password != confirmation {
        Some(FieldIssue::new("new_password_confirmation", "mismatch", "does not match the new password"))
    } else {
        None
    };
    if let Some(issue) = issue {
        return (StatusCode::UNPROCESSABLE_ENTITY, reset_form(&token, &live.user.login, Some(&hint), &[issue]))
            .into_response();
    }
    match reset::reset(&state, &token, SecretString::from(new_password.to_string()), &client).await {
        Ok(()) => Redirect::to(&format!("/login?account={}&reset=1", ui::enc(&live.account.slug))).into_response(),
        Err(Error::Validation(issues)) if issues.iter().all(|i| i.field != "token") => {
            (StatusCode::UNPROCESSABLE_ENTITY, reset_form(&token, &live.user.login, Some(&hint), &issues))
                .into_response()
        }
        Err(err) => dead_link(&err),
    }
}

fn reset_form(token: &str, login: &str, hint: Option<&str>, issues: &[FieldIssue]) -> Markup {
    let mut new_password =
        Field::new("new_password", "New password", "").kind("password").required().autocomplete("new-password");
    if let Some(h) = hint {
        new_password = new_password.hint(h);
    }
    let body = html! {
        section.auth-card aria-labelledby="reset-title" {
            h1 #reset-title { "Choose a new password" }
            p.muted { "For the login " strong { (login) } ". Your other sessions end when it is changed." }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" { "Your password was not changed: see the messages below." }
            }
            form method="post" action=(format!("/reset-password/{token}")) {
                (new_password.render(issues))
                (Field::new("new_password_confirmation", "Repeat the new password", "").kind("password").required()
                    .autocomplete("new-password").render(issues))
                button.button.primary.wide type="submit" { "Change password" }
            }
        }
    };
    ui::layout(None, Nav::None, "Choose a new password", body)
}

fn dead_link(err: &Error) -> Response {
    ui::dead_link(
        err,
        "password reset",
        html! { a href="/login/forgot" { "Ask for a new link" } " · " a href="/login" { "Sign in" } },
    )
}
