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
        .routes(routes!(put_seats))
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
    /// Platform operators only: whether the account's billing.manage holders (its Financial
    /// role) may change its seats through `PUT …/seats`.
    seats_self_service: Option<bool>,
    /// An IANA time zone: how the console shows times to the account's users who chose none
    /// (R7); `null` clears (UTC).
    #[serde(default, deserialize_with = "double_text")]
    #[schema(value_type = Option<String>)]
    time_zone: Option<Option<String>>,
    /// `MM/DD/YYYY`, `DD/MM/YYYY` or `YYYY/MM/DD`; `null` clears.
    #[serde(default, deserialize_with = "double_text")]
    #[schema(value_type = Option<String>)]
    date_format: Option<Option<String>>,
    /// `12h` or `24h`; `null` clears.
    #[serde(default, deserialize_with = "double_text")]
    #[schema(value_type = Option<String>)]
    time_format: Option<Option<String>>,
    /// The SIP domain the account's phones register in and their digest realm: a host name,
    /// unique across accounts. Phones' digest hashes change with it, so they register again.
    #[schema(max_length = 253)]
    sip_realm: Option<String>,
    /// Whether people sign in with a password (issue 15). Turning it off needs an enabled
    /// identity provider and an admin whose password sign-in is `kept` (break-glass).
    password_sign_in: Option<bool>,
}

fn double_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
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
    if (req.enabled.is_some() || req.seat_limit.is_some() || req.seats_self_service.is_some())
        && !auth.caller.platform_operator
    {
        return Err(Error::Forbidden("only a platform operator can enable, disable or size an account".into()));
    }
    let version = if_match(&headers)?;
    let principal = auth.principal(&client);
    let edit = super::service::AccountEdit {
        name: req.name.as_deref(),
        enabled: req.enabled,
        seat_limit: req.seat_limit,
        seats_self_service: req.seats_self_service,
        time_zone: req.time_zone.as_ref().map(|z| z.as_deref()),
        date_format: req.date_format.as_ref().map(|d| d.as_deref()),
        time_format: req.time_format.as_ref().map(|t| t.as_deref()),
        sip_realm: req.sip_realm.as_deref(),
        password_sign_in: req.password_sign_in,
    };
    let view = super::service::update(&state, &principal, auth.account_id(), version, edit).await?;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatsChange {
    /// The number of seats, 0–10,000,000; `null` for no limit.
    #[schema(minimum = 0, maximum = 10000000)]
    total: Option<i64>,
}

/// Change the number of seats (R20): a platform operator, or the account's billing.manage
/// holders where the operator allows it (`seats_self_service`). Fewer seats than are used is
/// allowed: nobody loses theirs, but nobody else gets one until enough are freed.
#[utoipa::path(put, path = "/api/v1/accounts/{account}/seats", tag = "accounts",
    params(("account" = String, Path)), request_body = SeatsChange, security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn put_seats(
    State(state): State<AppState>,
    auth: Authorized<perm::BillingManage>,
    client: ClientInfo,
    ApiJson(req): ApiJson<SeatsChange>,
) -> Result<Response> {
    let view = super::service::set_seats(&state, &auth.principal(&client), auth.account_id(), req.total).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}
