//! Signing in to the console and out of it.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};
use secrecy::SecretString;

use crate::auth::ClientInfo;
use crate::auth::extract::SESSION_COOKIE;
use crate::console::extract::{ConsoleUser, go};
use crate::console::ui::{self, Field, Nav};
use crate::console::{Pairs, first};
use crate::error::Error;
use crate::error::FieldIssue;
use crate::ids::IdentityProviderId;
use crate::model::SessionKind;
use crate::sign_in::SignInRequest;
use crate::sign_in::SignedIn;
use crate::state::AppState;

/// The one message for every refused sign-in: it never says which part was wrong.
const FAILED: &str = "Sign-in failed: check the account, login and password.";

/// `/`: the users page when signed in, else the sign-in page.
pub(in crate::console) async fn root(user: Result<ConsoleUser, Response>) -> Response {
    match user {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

pub(in crate::console) async fn login_page(
    State(state): State<AppState>,
    user: Result<ConsoleUser, Response>,
    Query(q): Query<Pairs>,
) -> Response {
    if user.is_ok() {
        return Redirect::to("/console/users").into_response();
    }
    let account = first(&q, "account").unwrap_or("default");
    if first(&q, "captcha").is_some()
        && let Some(page) = crate::console::captcha::fresh_page(
            &state,
            account,
            first(&q, "login").unwrap_or_default(),
            first(&q, "take_over").is_some(),
        )
        .await
    {
        return page;
    }
    let notice = first(&q, "signed_out")
        .map(|_| "You have signed out.")
        .or(first(&q, "reset").map(|_| "Your password was changed. Sign in with the new one."));
    // R39: "Sign in with …" for each of the account's identity providers.
    let providers = match crate::sso::providers::buttons(&state, account).await {
        Ok(providers) => providers,
        Err(e) => {
            tracing::error!(error = ?e, "the login page could not read the account's identity providers");
            Vec::new()
        }
    };
    login_form_with(account, "", None, notice, &providers).into_response()
}

pub(in crate::console) async fn login(
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
    let take_over = first(&form, "take_over").is_some();
    // R30: the device token this browser got from an earlier sign-in, if any.
    let device = jar.get(DEVICE_COOKIE).map(|c| c.value().to_string());
    let captcha = crate::console::captcha::answer_from(&form);
    let request = SignInRequest {
        account,
        login,
        password: secret,
        kind: SessionKind::Console,
        take_over,
        device: device.as_deref(),
        captcha,
    };
    match crate::sign_in::sign_in(&state, request, &client).await {
        Ok(crate::sign_in::Outcome::Captcha(step)) => {
            crate::console::captcha::step_page(account, login, take_over, &step).into_response()
        }
        Ok(outcome) => super::steps::outcome(&state, jar, account, outcome).await,
        Err(Error::SessionActive(message)) => {
            (StatusCode::CONFLICT, take_over_form(account, login, &message)).into_response()
        }
        // Issue 15: the password was right, but this user signs in through the identity provider.
        Err(Error::Forbidden(message)) => {
            let providers = crate::sso::providers::buttons(&state, account).await.unwrap_or_default();
            let message = ui::sentence(&message);
            (StatusCode::FORBIDDEN, login_form_with(account, login, Some(&message), None, &providers)).into_response()
        }
        Err(Error::TooManyAttempts(seconds)) => {
            let message =
                format!("Too many failed sign-ins from your address. Try again in {} minutes.", seconds.div_ceil(60));
            (StatusCode::TOO_MANY_REQUESTS, login_form(account, login, Some(&message), None)).into_response()
        }
        Err(Error::Internal(cause)) => {
            tracing::error!(error = ?cause, "sign-in failed with an internal error");
            let page = login_form(account, login, Some("Sign-in is not available right now; try again shortly."), None);
            (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
        }
        Err(_) => (StatusCode::UNAUTHORIZED, login_form(account, login, Some(FAILED), None)).into_response(),
    }
}

fn signed_in(state: &AppState, jar: CookieJar, signed: SignedIn) -> Response {
    (session_jar(state, jar, signed), Redirect::to("/console/users")).into_response()
}

/// The browser's cookie for R30's known devices: long-lived, so a later sign-in from it is
/// not "a new device".
pub(in crate::console) const DEVICE_COOKIE: &str = "roster_device";

/// The session cookie of a completed sign-in, and the device cookie when it issued one.
pub(in crate::console) fn session_jar(state: &AppState, jar: CookieJar, signed: SignedIn) -> CookieJar {
    let jar = match signed.device {
        Some(device) => jar.add(
            Cookie::build((DEVICE_COOKIE, device))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path("/")
                .secure(state.config.secure_cookies())
                .max_age(time::Duration::days(400)),
        ),
        None => jar,
    };
    let cookie = Cookie::build((SESSION_COOKIE, signed.token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(state.config.secure_cookies())
        // The server ends idle sessions; the cookie only needs to outlive the absolute limit.
        .max_age(time::Duration::days(90));
    jar.add(cookie)
}

/// `POST /login/password`: the forced or expired password change step of a sign-in.
pub(in crate::console) async fn password_change(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    let challenge = first(&form, "challenge").unwrap_or_default();
    let account = first(&form, "account").map(str::trim).filter(|a| !a.is_empty()).unwrap_or("default");
    let new_password = first(&form, "new_password").unwrap_or_default();
    let confirmation = first(&form, "new_password_confirmation").unwrap_or_default();
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return (StatusCode::FORBIDDEN, login_form("default", "", Some("This form was sent from another site."), None))
            .into_response();
    }
    let hint = policy_hint(&state, account).await;
    let mut issues = Vec::new();
    if new_password.is_empty() {
        issues.push(FieldIssue::new("new_password", "required", "enter a new password"));
    } else if new_password != confirmation {
        issues.push(FieldIssue::new("new_password_confirmation", "mismatch", "does not match the new password"));
    }
    if !issues.is_empty() {
        let page = password_change_form(account, challenge, None, hint.as_deref(), &issues);
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    let secret = SecretString::from(new_password.to_string());
    match crate::sign_in::service::complete_password_change(&state, challenge, secret, &client).await {
        Ok(signed) => signed_in(&state, jar, signed),
        Err(Error::Validation(issues)) => {
            let page = password_change_form(account, challenge, None, hint.as_deref(), &issues);
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Err(Error::Internal(cause)) => {
            tracing::error!(error = ?cause, "password change at sign-in failed with an internal error");
            let page = login_form("default", "", Some("Sign-in is not available right now; try again shortly."), None);
            (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
        }
        Err(_) => {
            let page = login_form(account, "", Some("That sign-in has expired. Sign in again."), None);
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
    }
}

/// The account's password policy in one line (for the hint under the new password), if the
/// account exists.
pub(in crate::console) async fn policy_hint(state: &AppState, account: &str) -> Option<String> {
    let record = crate::accounts::service::by_slug(state, account).await.ok()??;
    Some(ui::sentence(&record.security.password_policy.describe()))
}

pub(in crate::console) fn password_change_form(
    account: &str,
    challenge: &str,
    why: Option<&str>,
    hint: Option<&str>,
    issues: &[FieldIssue],
) -> Markup {
    let mut new_password =
        Field::new("new_password", "New password", "").kind("password").required().autocomplete("new-password");
    if let Some(h) = hint {
        new_password = new_password.hint(h);
    }
    let body = html! {
        section.auth-card aria-labelledby="pw-title" {
            h1 #pw-title { "Choose a new password" }
            @if let Some(why) = why { (ui::alert("info", why)) }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" { "Your password was not changed: see the messages below." }
            }
            form method="post" action="/login/password" {
                input type="hidden" name="challenge" value=(challenge);
                input type="hidden" name="account" value=(account);
                (new_password.render(issues))
                (Field::new("new_password_confirmation", "Repeat the new password", "").kind("password").required().autocomplete("new-password").render(issues))
                button.button.primary.wide type="submit" { "Change password and sign in" }
            }
        }
    };
    ui::layout(None, Nav::None, "Choose a new password", body)
}

/// R33: the account allows one session per user and this user has one elsewhere.
fn take_over_form(account: &str, login: &str, message: &str) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="take-title" {
            h1 #take-title { "Signed in elsewhere" }
            (ui::alert("warning", message))
            p { "Signing in here ends the other session." }
            form method="post" action="/login" {
                input type="hidden" name="account" value=(account);
                input type="hidden" name="login" value=(login);
                input type="hidden" name="take_over" value="1";
                div.field {
                    label for="f-password" { "Password" span.required aria-hidden="true" { " *" } }
                    input #f-password name="password" type="password" required autocomplete="current-password" autofocus;
                }
                button.button.primary.wide type="submit" { "End the other session and sign in" }
            }
            p { a href="/login" { "Cancel" } }
        }
    };
    ui::layout(None, Nav::None, "Signed in elsewhere", body)
}

/// `POST /logout` (an htmx request, so CSRF-checked): ends the session and clears the cookie.
pub(in crate::console) async fn logout(State(state): State<AppState>, user: ConsoleUser, jar: CookieJar) -> Response {
    if let Err(err) = crate::sign_in::service::sign_out(&state, &user.caller, &user.client).await {
        return user.fail(err).into_response();
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, go(user.htmx, "/login?signed_out=1")).into_response()
}

/// Accepts a form post whose `Origin` (when the browser sends one) is this server.
pub(in crate::console) fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
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

pub(in crate::console) fn login_form(account: &str, login: &str, error: Option<&str>, notice: Option<&str>) -> Markup {
    login_form_with(account, login, error, notice, &[])
}

/// The sign-in page, with a button for each of the account's identity providers.
fn login_form_with(
    account: &str,
    login: &str,
    error: Option<&str>,
    notice: Option<&str>,
    providers: &[(IdentityProviderId, String)],
) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="login-title" {
            h1 #login-title { "Sign in" }
            p.muted { "Manage the users of your PBX." }
            @if let Some(e) = error { (ui::alert("error", e)) }
            @if let Some(n) = notice { (ui::alert("success", n)) }
            @if !providers.is_empty() {
                div.sso-buttons {
                    @for (id, label) in providers {
                        a.button.wide.sso-button href=(format!("/sso/{}/{}", crate::http::path_segment(account), id.0)) {
                            "Sign in with " (label)
                        }
                    }
                }
                p.muted.or-divider { "or with your login and password" }
            }
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
            p { a href=(format!("/login/forgot?account={}", ui::enc(account))) { "Forgot your password?" } }
        }
    };
    ui::layout(None, Nav::None, "Sign in", body)
}
