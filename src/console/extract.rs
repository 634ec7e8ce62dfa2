//! Who is using the console, and how a failed request is shown to them.
//!
//! `ConsoleUser` is `auth::Caller` for pages: it needs the session cookie (so a CSRF token is
//! known), sends people who are not signed in to `/login`, and renders errors as pages (or,
//! for htmx requests, as an alert in the page's flash area) instead of problem+json.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::ui::{self, Nav};
use crate::access::Permission;
use crate::activity::Actor;
use crate::auth::extract::authorize;
use crate::auth::{Caller, ClientInfo};
use crate::error::Error;
use crate::model::AccountRecord;
use crate::state::AppState;

/// The cookie in which a platform operator's console remembers the account they act in.
pub(crate) const ACTING_COOKIE: &str = "roster_acting";

/// A signed-in person using the console: in their own account, or, for a platform operator who
/// chose one on the Accounts page, in that account.
pub(crate) struct ConsoleUser {
    pub caller: Caller,
    /// The token every htmx request sends back as `X-CSRF-Token`.
    pub csrf: String,
    /// The request came from htmx (it wants a fragment, and HX-* headers instead of redirects).
    pub htmx: bool,
    pub client: ClientInfo,
    pub account_name: String,
    /// The other account a platform operator acts in (the Accounts page's switcher).
    pub acting: Option<String>,
}

pub(crate) fn is_htmx(parts: &Parts) -> bool {
    parts.headers.get("hx-request").is_some_and(|v| v.as_bytes() == b"true")
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let htmx = is_htmx(parts);
        let caller = match Caller::from_request_parts(parts, state).await {
            Ok(caller) => caller,
            Err(Error::Unauthenticated) => return Err(to_login(htmx)),
            Err(err) => return Err(bare_failure(err, htmx)),
        };
        // A bearer token is for machines; the console works with its cookie (and CSRF token).
        let Some(csrf) = caller.csrf.clone() else {
            return Err(to_login(htmx));
        };
        let client = ClientInfo::from_request_parts(parts, state).await.unwrap_or_default();
        // The caller's account was read with the session (and is re-read after any change to it).
        let mut account_name = caller.home_account.name.clone();
        super::time::set_viewer(&caller.time_display);
        // Only a platform operator acts in another account; a cookie naming one that is gone
        // (or their own) is ignored.
        let mut acting = None;
        if caller.platform_operator {
            let jar = axum_extra::extract::cookie::CookieJar::from_headers(&parts.headers);
            if let Some(slug) = jar.get(ACTING_COOKIE).map(|c| c.value().to_string())
                && slug != caller.account_slug
                && let Ok(Some(account)) = crate::accounts::service::by_slug(state, &slug).await
            {
                account_name = account.name;
                acting = Some(account.slug);
            }
        }
        Ok(ConsoleUser { caller, csrf, htmx, client, account_name, acting })
    }
}

impl ConsoleUser {
    /// The central permission check (`auth::extract::authorize`) for the caller's own account.
    pub async fn allow(&self, state: &AppState, permission: Permission) -> Result<AccountRecord, Failure> {
        let slug = self.acting.as_deref().unwrap_or(&self.caller.account_slug);
        authorize(state, &self.caller, slug, permission).await.map_err(|e| self.fail(e))
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.caller.has(permission)
    }

    /// Who acts in `account` with `permission` (and its scope): what the services decide from.
    pub fn principal(&self, account: &AccountRecord, permission: Permission) -> crate::access::Principal {
        self.caller.principal(account.id, permission, &self.client)
    }

    /// The actor recorded in the activity log for changes made in `account`.
    pub fn actor(&self, account: &AccountRecord) -> Actor {
        self.caller.actor(&self.client).in_account(account.id)
    }

    /// A full page in the console layout.
    pub fn page(&self, nav: Nav, title: &str, content: Markup) -> Response {
        ui::layout(Some(self), nav, title, content).into_response()
    }

    /// An error as this user sees it: a page, or an alert in the flash area for htmx.
    pub fn fail(&self, err: Error) -> Failure {
        if matches!(err, Error::Unauthenticated) {
            return Failure(Box::new(to_login(self.htmx)));
        }
        if let Error::Internal(cause) = &err {
            tracing::error!(error = ?cause, "internal error in the console");
        }
        let status = err.status();
        if self.htmx {
            return Failure(Box::new(flash_response(status, ui::alert_error(&err))));
        }
        let (title, body) = error_body(&err);
        let mut response = self.page(Nav::None, title, body);
        *response.status_mut() = status;
        Failure(Box::new(response))
    }
}

/// A response that ends a console request early (an error page or a redirect).
pub(crate) struct Failure(Box<Response>);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// For handlers: `service::get(..).await.or_fail(&user)?`.
pub(crate) trait OrFail<T> {
    fn or_fail(self, user: &ConsoleUser) -> Result<T, Failure>;
}

impl<T, E: Into<Error>> OrFail<T> for Result<T, E> {
    fn or_fail(self, user: &ConsoleUser) -> Result<T, Failure> {
        self.map_err(|e| user.fail(e.into()))
    }
}

/// Sends the browser somewhere: a 303 for a page, `HX-Redirect` (a full load) for htmx.
pub(crate) fn go(htmx: bool, to: &str) -> Response {
    if htmx {
        let mut response = StatusCode::OK.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            response.headers_mut().insert("hx-redirect", v);
        }
        response
    } else {
        Redirect::to(to).into_response()
    }
}

fn to_login(htmx: bool) -> Response {
    go(htmx, "/login")
}

/// An htmx answer shown in the page's flash area, whatever element asked.
pub(crate) fn flash_response(status: StatusCode, body: Markup) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("hx-retarget", HeaderValue::from_static("#flash"));
    headers.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    response
}

/// An error before we know who is asking (e.g. a wrong CSRF token): no header menu.
fn bare_failure(err: Error, htmx: bool) -> Response {
    if let Error::Internal(cause) = &err {
        tracing::error!(error = ?cause, "internal error in the console");
    }
    let status = err.status();
    if htmx {
        return flash_response(status, ui::alert_error(&err));
    }
    let (title, body) = error_body(&err);
    (status, ui::layout(None, Nav::None, title, body)).into_response()
}

fn error_body(err: &Error) -> (&'static str, Markup) {
    let title = match err {
        Error::Forbidden(_) => "Not permitted",
        Error::NotFound(_) => "Not found",
        Error::PreconditionFailed => "Changed by someone else",
        Error::Internal(_) => "Something went wrong",
        _ => "This request could not be completed",
    };
    let body = html! {
        section.panel.error-page aria-labelledby="error-title" {
            h1 #error-title { (title) }
            p.lead { (ui::error_sentence(err)) }
            @if let Error::Forbidden(_) = err {
                p.muted { "Ask an account admin if you need this access." }
            }
            p { a.button href="/console/users" { "Back to users" } }
        }
    };
    (title, body)
}
