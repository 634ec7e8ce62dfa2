//! `/api/v1/accounts` (platform operators) and `/api/v1/accounts/{account}`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::AccountView;
use crate::access::{Permission, perm};
use crate::auth::{Authorized, Caller, ClientInfo};
use crate::error::{Error, Result};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, created, if_match, page_limit, with_etag};
use crate::model::settings::SecuritySettings;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, update_account))
        .routes(routes!(get_security, put_security))
}

fn require_operator(caller: &Caller) -> Result<()> {
    if caller.platform_operator {
        Ok(())
    } else {
        Err(Error::Forbidden("this needs the permission accounts.manage (platform operators)".into()))
    }
}

/// Every account (platform operators).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = Page<AccountView>), (status = 403, body = crate::error::Problem)))]
async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<AccountView>>> {
    require_operator(&caller)?;
    let limit = page_limit(q.limit)?;
    Ok(axum::Json(super::service::list(&state, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Lowercase letters, digits and `-`; used in URLs.
    #[schema(max_length = 63, pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    slug: String,
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: String,
    /// Paid seats (R20), 0–10,000,000; omit for no limit.
    #[schema(minimum = 0, maximum = 10000000)]
    seat_limit: Option<i64>,
}

/// Create an account with the built-in roles (platform operators).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccount, security(("bearer" = [])),
    responses((status = 201, body = AccountView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<NewAccount>,
) -> Result<Response> {
    require_operator(&caller)?;
    let view = super::service::create(
        &state,
        &caller.principal(caller.account, Permission::AccountsManage, &client),
        &req.slug,
        &req.name,
        req.seat_limit,
    )
    .await?;
    let (slug, version) = (view.slug.clone(), view.version);
    Ok(created("/api/v1/accounts/{account}", &slug, 0, Some(version), view))
}

/// The account: name, state and seats.
#[utoipa::path(get, path = "/api/v1/accounts/{account}", tag = "accounts", params(("account" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = AccountView), (status = 404, body = crate::error::Problem)))]
async fn get_account(auth: Authorized<perm::SettingsView>) -> Response {
    let view = AccountView::from(auth.account);
    with_etag(StatusCode::OK, view.version, view)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    #[schema(max_length = 80, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: Option<String>,
    /// Platform operators only: a disabled account's users cannot sign in (R17).
    enabled: Option<bool>,
    /// Platform operators only (R20).
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 10000000)]
    seat_limit: Option<Option<i64>>,
}

fn double<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Change the account; requires If-Match.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}", tag = "accounts",
    params(("account" = String, Path), ("If-Match" = String, Header)), request_body = AccountChange, security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 412, body = crate::error::Problem)))]
async fn update_account(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AccountChange>,
) -> Result<Response> {
    if (req.enabled.is_some() || req.seat_limit.is_some()) && !auth.caller.platform_operator {
        return Err(Error::Forbidden("only a platform operator can enable, disable or size an account".into()));
    }
    let version = if_match(&headers)?;
    let principal = auth.principal(&client);
    let view = super::service::update(
        &state,
        &principal,
        auth.account_id(),
        version,
        req.name.as_deref(),
        req.enabled,
        req.seat_limit,
    )
    .await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
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
    params(("account" = String, Path), ("If-Match" = String, Header)), request_body = SecuritySettings, security(("bearer" = [])),
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
    let updated =
        super::service::update_security(&state, &auth.principal(&client), &auth.account, settings, expected).await?;
    Ok(with_etag(StatusCode::OK, updated.version, updated.security))
}
