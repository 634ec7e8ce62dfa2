//! `/invite/{token}`: the page an invitation's link opens (R19). The invited person sees the
//! account, who invited them and the role, chooses a login (prefilled, R1) and a password (the
//! account's policy, R10), and is signed in — through the sign-in's steps, so that a second
//! factor is set up where the account or the role requires one (R27). A used, revoked or
//! expired link shows why, and does nothing.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use secrecy::SecretString;

use super::page::{DEVICE_COOKIE, same_origin};
use crate::auth::ClientInfo;
use crate::console::ui::{self, Field, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::model::SessionKind;
use crate::sign_in::Outcome;
use crate::sign_in::service::SignInRequest;
use crate::state::AppState;
use crate::users::invitations::{self, LiveInvitation};

pub(in crate::console) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match invitations::check_link(&state, &token).await {
        Ok(live) => form(&token, &live, &live.user.login, &[]).into_response(),
        Err(err) => dead_link(&err),
    }
}

pub(in crate::console) async fn accept(
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
    let live = match invitations::check_link(&state, &token).await {
        Ok(live) => live,
        Err(err) => return dead_link(&err),
    };
    let login = first(&form_data, "login").unwrap_or_default().trim().to_string();
    let password = first(&form_data, "password").unwrap_or_default().to_string();
    if first(&form_data, "password_confirm").unwrap_or_default() != password {
        let issue = FieldIssue::new("password_confirm", "mismatch", "does not match the password");
        return (StatusCode::UNPROCESSABLE_ENTITY, form(&token, &live, &login, &[issue])).into_response();
    }
    let secret = SecretString::from(password.clone());
    let accepted = match invitations::accept(&state, &token, &login, secret, &client).await {
        Ok(accepted) => accepted,
        Err(Error::Validation(issues)) => {
            // A dead link (used meanwhile) is no field of the form.
            if let Some(dead) = issues.iter().find(|i| i.field == "token") {
                return dead_link(&Error::Validation(vec![dead.clone()]));
            }
            return (StatusCode::UNPROCESSABLE_ENTITY, form(&token, &live, &login, &issues)).into_response();
        }
        Err(Error::Conflict { field, message }) => {
            let issue = FieldIssue::new(field, "taken", message);
            return (StatusCode::CONFLICT, form(&token, &live, &login, &[issue])).into_response();
        }
        Err(err) => return dead_link(&err),
    };
    // Accepted: the first sign-in, with whatever steps it asks (the authenticator's set-up).
    let device = jar.get(DEVICE_COOKIE).map(|c| c.value().to_string());
    let request = SignInRequest {
        account: &accepted.account.slug,
        login: &login,
        password: SecretString::from(password),
        kind: SessionKind::Console,
        take_over: false,
        device: device.as_deref(),
        captcha: None,
    };
    match crate::sign_in::sign_in(&state, request, &client).await {
        Ok(Outcome::Captcha(_)) | Err(_) => axum::response::Redirect::to(&format!(
            "/login?account={}&login={}",
            ui::enc(&accepted.account.slug),
            ui::enc(&login)
        ))
        .into_response(),
        Ok(outcome) => super::steps::outcome(&state, jar, &accepted.account.slug, outcome).await,
    }
}

fn form(token: &str, live: &LiveInvitation, login: &str, issues: &[FieldIssue]) -> Markup {
    let role = if live.roles.is_empty() { "a member".to_string() } else { live.roles.join(", ") };
    let policy = &live.account.security.password_policy;
    let hint = format!("At least {} characters.", policy.min_length);
    let body = html! {
        section.auth-card aria-labelledby="invite-title" {
            h1 #invite-title { "Join " (live.account.name) }
            p.muted #invite-who {
                (live.invitation.invited_by_label) " invited you to " strong { (live.account.name) } " as " strong { (role) } "."
            }
            p.muted { "Choose how you will sign in. You are then signed in; where a second factor is required, you set up an authenticator app first." }
            @if !issues.is_empty() {
                div.alert.alert-error role="alert" tabindex="-1" data-focus { "Not yet: see the messages below." }
            }
            form method="post" action=(format!("/invite/{token}")) novalidate {
                (Field::new("login", "Login", login).required().autocomplete("username").maxlength(64)
                    .hint("Latin letters, digits, “-”, “_” and “.”; unique in the account.").render(issues))
                (Field::new("password", "Password", "").kind("password").required().autocomplete("new-password").hint(&hint).render(issues))
                (Field::new("password_confirm", "Confirm password", "").kind("password").required().autocomplete("new-password").render(issues))
                button.button.primary.wide type="submit" { "Accept and sign in" }
            }
        }
    };
    ui::layout(None, Nav::None, "Accept your invitation", body)
}

fn dead_link(err: &Error) -> Response {
    ui::dead_link(
        err,
        "invitation link",
        html! { "Ask whoever invited you to send the invitation again, or " a href="/login" { "sign in" } " if you have accepted it." },
    )
}
