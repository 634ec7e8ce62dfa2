//! `…/settings/security`: the account's password policy, lockout and session settings.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::settings::SecuritySettings;
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, if_match, with_etag};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_security, put_security))
}

/// The account's security settings; the ETag guards concurrent edits.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/settings/security", tag = "settings",
    params(("account" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = SecuritySettings)))]
async fn get_security(auth: Authorized<perm::SettingsView>) -> Response {
    with_etag(StatusCode::OK, auth.account.version, auth.account.security)
}

/// Replace the account's security settings (send the whole document, with `If-Match`).
#[utoipa::path(put, path = "/api/v1/accounts/{account}/settings/security", tag = "settings",
    params(("account" = String, Path)), request_body = SecuritySettings, security(("bearer" = [])),
    responses((status = 200, body = SecuritySettings), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
async fn put_security(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(settings): ApiJson<SecuritySettings>,
) -> Result<Response> {
    let expected = if_match(&headers)?;
    let actor = auth.caller.actor(&client).in_account(auth.account_id());
    let updated = super::update_security(&state, &actor, &auth.account, settings, expected).await?;
    Ok(with_etag(StatusCode::OK, updated.version, updated.security))
}
