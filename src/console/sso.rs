//! The browser's way through single sign-on: the login page's button sends it to the account's
//! provider (`/sso/{account}/{provider}`), which sends it back to `/sso/callback`; from there
//! the sign-in goes on as a password sign-in does (a second factor, then the console), or a page
//! says why not.

use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::html;

use crate::auth::ClientInfo;
use crate::console::ui::{self, Nav};
use crate::console::{Pairs, first};
use crate::ids::IdentityProviderId;
use crate::sso::sign_in::{self, Callback, Refusal};
use crate::state::AppState;

/// The cookie that binds a sign-in sent to a provider to the browser that sent it. Behind https
/// it is a `__Host-` cookie, which a sibling subdomain cannot plant.
fn browser_cookie(state: &AppState) -> &'static str {
    match state.config.secure_cookies() {
        true => "__Host-roster_sso",
        false => "roster_sso",
    }
}

/// `GET /sso/{account}/{provider}`: off to the provider.
pub(in crate::console) async fn start(
    State(state): State<AppState>,
    Path((account, provider)): Path<(String, String)>,
    jar: CookieJar,
) -> Response {
    go_to_provider(&state, &account, &provider, false, jar).await
}

/// `POST /sso/{account}/{provider}` with `take_over`: the same, ending the user's other session
/// once signed in (R33). A form of this server's page only: another site cannot end someone's
/// session by sending them here.
pub(in crate::console) async fn start_taking_over(
    State(state): State<AppState>,
    Path((account, provider)): Path<(String, String)>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<Pairs>,
) -> Response {
    if !super::sign_in::page::same_origin(&headers, state.config.public_url.as_deref()) {
        let refusal = Refusal::new_in("cross_site", "This sign-in was sent from another site.", &account);
        return refused_page(&refusal).into_response();
    }
    let take_over = first(&form, "take_over").is_some();
    go_to_provider(&state, &account, &provider, take_over, jar).await
}

async fn go_to_provider(state: &AppState, account: &str, provider: &str, take_over: bool, jar: CookieJar) -> Response {
    let Ok(provider) = provider.parse::<i64>().map(IdentityProviderId) else {
        return refused_page(&Refusal::unknown(account)).into_response();
    };
    // A new value each time, never one the request brought (which someone else may have set).
    match sign_in::start(state, account, provider, take_over).await {
        Ok(Ok(started)) => {
            let cookie = Cookie::build((browser_cookie(state), started.browser))
                .http_only(true)
                // Lax: the provider's redirect back is a top-level GET, which brings it.
                .same_site(SameSite::Lax)
                .path("/")
                .secure(state.config.secure_cookies())
                .max_age(time::Duration::minutes(10));
            (jar.add(cookie), Redirect::to(&started.url)).into_response()
        }
        Ok(Err(refusal)) => refused_page(&refusal).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "single sign-on could not start");
            unavailable().into_response()
        }
    }
}

/// `GET /sso/callback`: the provider's answer.
pub(in crate::console) async fn callback(
    State(state): State<AppState>,
    client: ClientInfo,
    Query(q): Query<Pairs>,
    jar: CookieJar,
) -> Response {
    let back = Callback {
        code: first(&q, "code"),
        state: first(&q, "state"),
        error: first(&q, "error"),
        error_description: first(&q, "error_description"),
        iss: first(&q, "iss"),
    };
    let browser = jar.get(browser_cookie(&state)).map(|c| c.value().to_string());
    match sign_in::finish(&state, &back, browser.as_deref(), &client).await {
        Ok(Ok((outcome, account))) => super::sign_in::steps::outcome(&state, jar, &account, outcome).await,
        Ok(Err(refusal)) => (jar, refused_page(&refusal)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "single sign-on could not finish");
            (jar, unavailable()).into_response()
        }
    }
}

fn unavailable() -> (StatusCode, maud::Markup) {
    let refusal = Refusal::unavailable();
    (StatusCode::INTERNAL_SERVER_ERROR, page(&refusal))
}

fn refused_page(refusal: &Refusal) -> (StatusCode, maud::Markup) {
    let status = match refusal.reason {
        "unknown_provider" => StatusCode::NOT_FOUND,
        "session_active" => StatusCode::CONFLICT,
        "provider_unreachable" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::FORBIDDEN,
    };
    (status, page(refusal))
}

fn page(refusal: &Refusal) -> maud::Markup {
    let back = match &refusal.account {
        Some(account) => format!("/login?account={}", ui::enc(account)),
        None => "/login".to_string(),
    };
    let body = html! {
        section.auth-card aria-labelledby="sso-title" {
            h1 #sso-title { "Not signed in" }
            (ui::alert("error", &refusal.message))
            @if let Some((account, provider)) = &refusal.may_take_over {
                p { "Signing in here ends the other session." }
                form method="post" action=(format!("/sso/{}/{}", crate::http::path_segment(account), provider.0)) {
                    input type="hidden" name="take_over" value="1";
                    button.button.primary.wide #sso-take-over type="submit" { "End the other session and sign in" }
                }
            }
            p { a #sso-back href=(back) { "Back to sign-in" } }
            p.muted { "Reference: " code { (refusal.reason) } }
        }
    };
    ui::layout(None, Nav::None, "Not signed in", body)
}
