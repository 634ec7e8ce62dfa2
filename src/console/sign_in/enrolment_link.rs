//! `/enrol/{token}`: the page an emailed enrolment link opens. The user signs in with their
//! password; the sign-in's steps follow, among them setting up the authenticator (R29). The
//! link never carries the key, and works once.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use secrecy::SecretString;

use super::page::{DEVICE_COOKIE, same_origin};
use crate::auth::ClientInfo;
use crate::console::ui::{self, Nav};
use crate::console::{Pairs, first};
use crate::error::Error;
use crate::second_factor::enrolment;
use crate::sign_in::Outcome;
use crate::state::AppState;

pub(in crate::console) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match enrolment::check(&state, &token).await {
        Ok((account, user)) => form(&token, &account.name, &user.login, None).into_response(),
        Err(err) => dead_link(&err),
    }
}

pub(in crate::console) async fn sign_in(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form_data): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return dead_link(&Error::Forbidden("this form was sent from another site".into()));
    }
    let (account, user) = match enrolment::check(&state, &token).await {
        Ok(found) => found,
        Err(err) => return dead_link(&err),
    };
    let password = first(&form_data, "password").unwrap_or_default();
    if password.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            form(&token, &account.name, &user.login, Some("Enter your password.")),
        )
            .into_response();
    }
    let device = jar.get(DEVICE_COOKIE).map(|c| c.value().to_string());
    let password = SecretString::from(password.to_string());
    match crate::sign_in::enrolment_link::sign_in(&state, &token, password, false, device.as_deref(), None, &client)
        .await
    {
        // This account asks for a CAPTCHA first: the ordinary sign-in page has it.
        Ok(Outcome::Captcha(_)) => axum::response::Redirect::to(&format!(
            "/login?account={}&login={}&captcha=new",
            ui::enc(&account.slug),
            ui::enc(&user.login)
        ))
        .into_response(),
        Ok(outcome) => super::steps::outcome(&state, jar, &account.slug, outcome).await,
        Err(Error::TooManyAttempts(_)) => {
            let message = "Too many failed sign-ins from your address. Try again later.";
            (StatusCode::TOO_MANY_REQUESTS, form(&token, &account.name, &user.login, Some(message))).into_response()
        }
        Err(Error::SessionActive(message)) => {
            (StatusCode::CONFLICT, form(&token, &account.name, &user.login, Some(&message))).into_response()
        }
        Err(_) => {
            let message = "Sign-in failed: check your password.";
            (StatusCode::UNAUTHORIZED, form(&token, &account.name, &user.login, Some(message))).into_response()
        }
    }
}

fn form(token: &str, account: &str, login: &str, error: Option<&str>) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="enrol-title" {
            h1 #enrol-title { "Set up your authenticator app" }
            p.muted { "Sign in to " strong { (account) } " as " strong { (login) } "; you will then scan a QR code with \
                an authenticator app (Google or Microsoft Authenticator, or any TOTP app) and get ten recovery codes." }
            @if let Some(e) = error { (ui::alert("error", e)) }
            form method="post" action=(format!("/enrol/{token}")) {
                div.field {
                    label for="f-password" { "Password" span.required aria-hidden="true" { " *" } }
                    input #f-password name="password" type="password" required autocomplete="current-password" autofocus;
                }
                button.button.primary.wide type="submit" { "Continue" }
            }
        }
    };
    ui::layout(None, Nav::None, "Set up your authenticator app", body)
}

fn dead_link(err: &Error) -> Response {
    ui::dead_link(
        err,
        "enrolment link",
        html! { a href="/login" { "Sign in" } " — if you still have to set up an authenticator, the sign-in will ask you to." },
    )
}
