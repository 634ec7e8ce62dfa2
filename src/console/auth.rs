//! Signing in to the console and out of it.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};
use secrecy::SecretString;

use super::extract::{ConsoleUser, go};
use super::ui::{self, Field, Nav};
use super::{Pairs, first};
use crate::auth::extract::SESSION_COOKIE;
use crate::auth::{ClientInfo, SessionKind};
use crate::error::Error;
use crate::state::AppState;

/// The one message for every refused sign-in: it never says which part was wrong.
const FAILED: &str = "Sign-in failed: check the account, login and password.";

/// `/`: the users page when signed in, else the sign-in page.
pub(super) async fn root(user: Result<ConsoleUser, Response>) -> Response {
    match user {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

pub(super) async fn login_page(user: Result<ConsoleUser, Response>, Query(q): Query<Pairs>) -> Response {
    if user.is_ok() {
        return Redirect::to("/console/users").into_response();
    }
    let account = first(&q, "account").unwrap_or("default");
    let notice = first(&q, "signed_out").map(|_| "You have signed out.");
    login_form(account, "", None, notice).into_response()
}

pub(super) async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    let account = first(&form, "account").map(str::trim).filter(|a| !a.is_empty()).unwrap_or("default");
    let login = first(&form, "login").map(str::trim).unwrap_or_default();
    let password = first(&form, "password").unwrap_or_default();
    // Another site must not sign a visitor in to an account of its choosing (login CSRF).
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        let page = login_form(account, login, Some("This sign-in form was sent from another site."), None);
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    if login.is_empty() || password.is_empty() {
        let page = login_form(account, login, Some("Enter your login and password."), None);
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    let secret = SecretString::from(password.to_string());
    match crate::auth::sign_in(&state, account, login, secret, SessionKind::Console, &client).await {
        Ok(signed) => {
            let expires = time::OffsetDateTime::from_unix_timestamp(signed.expires_at / 1000)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
            let cookie = Cookie::build((SESSION_COOKIE, signed.token))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path("/")
                .secure(state.config.secure_cookies())
                .expires(expires);
            (jar.add(cookie), Redirect::to("/console/users")).into_response()
        }
        Err(Error::Internal(cause)) => {
            tracing::error!(error = ?cause, "sign-in failed with an internal error");
            let page = login_form(account, login, Some("Sign-in is not available right now; try again shortly."), None);
            (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
        }
        Err(_) => (StatusCode::UNAUTHORIZED, login_form(account, login, Some(FAILED), None)).into_response(),
    }
}

/// `POST /logout` (an htmx request, so CSRF-checked): ends the session and clears the cookie.
pub(super) async fn logout(State(state): State<AppState>, user: ConsoleUser, jar: CookieJar) -> Response {
    if let Err(err) = crate::auth::sign_out(&state, &user.caller, &user.client).await {
        return user.fail(err).into_response();
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, go(user.htmx, "/login?signed_out=1")).into_response()
}

/// Accepts a form post whose `Origin` (when the browser sends one) is this server.
fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    let matches = |value: Option<&str>| value.is_some_and(|h| !h.is_empty() && h.eq_ignore_ascii_case(origin_host));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let forwarded = headers.get("x-forwarded-host").and_then(|v| v.to_str().ok());
    let public = public_url.and_then(|u| u.split_once("://")).map(|(_, rest)| rest.split('/').next().unwrap_or(""));
    matches(host) || matches(forwarded) || matches(public)
}

fn login_form(account: &str, login: &str, error: Option<&str>, notice: Option<&str>) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="login-title" {
            h1 #login-title { "Sign in" }
            p.muted { "Manage the users of your PBX." }
            @if let Some(e) = error { (ui::alert("error", e)) }
            @if let Some(n) = notice { (ui::alert("success", n)) }
            form method="post" action="/login" {
                (Field::new("account", "Account", account)
                    .required()
                    .autocomplete("organization")
                    .hint("Your organisation's account name, usually “default”.")
                    .render(&[]))
                div.field {
                    label for="f-login" { "Login" span.required aria-hidden="true" { " *" } }
                    input #f-login name="login" type="text" value=(login) required autocomplete="username"
                        autocapitalize="none" spellcheck="false" autofocus[login.is_empty()];
                }
                div.field {
                    label for="f-password" { "Password" span.required aria-hidden="true" { " *" } }
                    input #f-password name="password" type="password" required autocomplete="current-password"
                        autofocus[!login.is_empty()];
                }
                button.button.primary.wide type="submit" { "Sign in" }
            }
        }
    };
    ui::layout(None, Nav::None, "Sign in", body)
}
