//! `/api/v1/accounts/{account}/users…`: thin handlers that extract, authorize, call the service.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bulk::{self, BulkRequest, BulkResult};
use super::input::UserInput;
use super::service::{self, UserView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::{Error, Result};
use crate::http::Page;
use crate::http::{ApiJson, ApiQuery, ItemPath, created, if_match, page_limit, with_etag};
use crate::ids::UserId;
use crate::model::user_filter::UserFilter;
use crate::state::AppState;
use crate::users::filter::FilterText;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(set_password))
        .routes(routes!(unlock))
        .routes(routes!(get_security_overrides, put_security_overrides))
        .routes(routes!(bulk_action))
        .routes(routes!(sip_credentials))
        .routes(routes!(get_avatar, put_avatar, delete_avatar))
        .routes(routes!(get_seats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma list: `active,disabled,invited`.
    #[param(pattern = r"^((active|disabled|invited)(,(active|disabled|invited))*)?$")]
    status: Option<String>,
    /// Comma list of role ids.
    #[param(pattern = r"^([0-9]{1,18}(,[0-9]{1,18})*)?$")]
    role: Option<String>,
    /// Comma list of desk ids.
    #[param(pattern = r"^([0-9]{1,18}(,[0-9]{1,18})*)?$")]
    desk: Option<String>,
    /// Comma list of group ids.
    #[param(pattern = r"^([0-9]{1,18}(,[0-9]{1,18})*)?$")]
    group: Option<String>,
    /// Comma list of skill ids.
    #[param(pattern = r"^([0-9]{1,18}(,[0-9]{1,18})*)?$")]
    skill: Option<String>,
    /// Comma list of queue ids: members of any of them (R16).
    #[param(pattern = r"^([0-9]{1,18}(,[0-9]{1,18})*)?$")]
    queue: Option<String>,
    /// `true`: only agents; `false`: only users who are not (R11).
    #[param(pattern = r"^(true|false)?$")]
    agent: Option<String>,
    /// `true`: only supervisors; `false`: only users who are not (R11).
    #[param(pattern = r"^(true|false)?$")]
    supervisor: Option<String>,
    /// Search text: login, names, email, extension, external id, company; no control characters.
    #[param(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
    /// `true`: only users locked out after too many failed sign-ins.
    locked: Option<bool>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

/// List users, filtered (R21), in login order, one page at a time.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users", tag = "users", params(("account" = String, Path), ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<UserView>), (status = 422, body = crate::error::Problem)))]
async fn list_users(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Page<service::ListedJson>>> {
    let mut filter = UserFilter::from_query(FilterText {
        status: q.status.as_deref(),
        role: q.role.as_deref(),
        desk: q.desk.as_deref(),
        group: q.group.as_deref(),
        skill: q.skill.as_deref(),
        queue: q.queue.as_deref(),
        agent: q.agent.as_deref(),
        supervisor: q.supervisor.as_deref(),
        q: q.q.as_deref(),
    })?;
    filter.locked = q.locked.unwrap_or(false);
    let limit = page_limit(q.limit)?;
    Ok(axum::Json(service::list_json(&state, &auth.principal(&client), &filter, q.cursor.as_deref(), limit).await?))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    user: UserView,
    /// Present only when the password was generated: shown this once, never again (R9).
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_password: Option<String>,
}

/// Create a user. Without `password`, a strong one is generated and returned once.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users", tag = "users", params(("account" = String, Path)),
    request_body = UserInput, security(("bearer" = [])),
    responses((status = 201, body = CreatedUser), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_user(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersCreate>,
    client: ClientInfo,
    ApiJson(input): ApiJson<UserInput>,
) -> Result<Response> {
    let (user, generated) = service::create(&state, &auth.principal(&client), input).await?;
    let (id, version) = (user.id, user.version);
    let body = CreatedUser { user, generated_password: generated.map(|p| p.expose_secret().to_string()) };
    Ok(created("/api/v1/accounts/{account}/users/{id}", &auth.account.slug, id.0, Some(version), body))
}

/// One user, with an ETag to send back as If-Match when editing.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, body = crate::error::Problem)))]
async fn get_user(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Response> {
    let user = service::get(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, user.version, user))
}

/// Edit a user. Requires `If-Match`; a stale version gets 412.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/users/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = UserInput, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
async fn update_user(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<UserInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let user = service::update(&state, &auth.principal(&client), UserId(path.id), version, input).await?;
    // An admin's old address may have a notice waiting (D6).
    state.mail.wake();
    Ok(with_etag(StatusCode::OK, user.version, user))
}

/// Delete a user; their assignments and sessions go with them (R22, R25).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/users/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete_user(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersDelete>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    service::delete(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// The new password; omit it to have one generated and returned once.
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
    /// Must match `password` when it is given (R10).
    #[schema(value_type = Option<String>, format = Password)]
    password_confirmation: Option<SecretString>,
    /// The user must choose a new password at next sign-in (R23).
    #[serde(default)]
    must_change_password: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordResponse {
    /// Present only when generated: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_password: Option<String>,
    must_change_password: bool,
}

/// Set or reset a user's password; ends their sessions (R23, R25).
#[utoipa::path(put, path = "/api/v1/accounts/{account}/users/{id}/password", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), request_body = SetPasswordRequest, security(("bearer" = [])),
    responses((status = 200, body = PasswordResponse), (status = 422, body = crate::error::Problem)))]
async fn set_password(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersPasswords>,
    client: ClientInfo,
    path: ItemPath,
    ApiJson(req): ApiJson<SetPasswordRequest>,
) -> Result<axum::Json<PasswordResponse>> {
    if let (Some(p), confirmation) = (&req.password, &req.password_confirmation)
        && confirmation.as_ref().is_some_and(|c| c.expose_secret() != p.expose_secret())
    {
        return Err(Error::invalid("password_confirmation", "mismatch", "does not match the password"));
    }
    let generated = service::set_password(
        &state,
        &auth.principal(&client),
        UserId(path.id),
        req.password,
        req.must_change_password,
    )
    .await?;
    Ok(axum::Json(PasswordResponse {
        generated_password: generated.map(|p| p.expose_secret().to_string()),
        must_change_password: req.must_change_password,
    }))
}

/// A user's SIP credentials, for provisioning their phone (R6). Each read is recorded.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/sip-credentials", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = service::SipCredentials), (status = 404, body = crate::error::Problem),
        (status = 409, description = "The user has no extension", body = crate::error::Problem)))]
async fn sip_credentials(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersSipCredentials>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<service::SipCredentials>> {
    let creds = service::sip_credentials(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(axum::Json(creds))
}

/// A mass action (R37) on selected users, on those matching a filter, or on all; atomic.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users/bulk", tag = "users", params(("account" = String, Path)),
    request_body = BulkRequest, security(("bearer" = [])),
    responses((status = 200, body = BulkResult), (status = 422, body = crate::error::Problem)))]
async fn bulk_action(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<axum::Json<BulkResult>> {
    Ok(axum::Json(bulk::run(&state, &auth.principal(&client), req).await?))
}

/// The user's avatar image.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/avatar", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "image/*", description = "The image"), (status = 404, body = crate::error::Problem)))]
async fn get_avatar(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Response> {
    let avatar = service::get_avatar(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok((
        [(header::CONTENT_TYPE, avatar.content_type), (header::CACHE_CONTROL, "private, max-age=60".to_string())],
        avatar.data,
    )
        .into_response())
}

/// Upload an avatar: the raw image as the body (PNG, JPEG, GIF or WebP; at most 1 MiB, 4096×4096).
#[utoipa::path(put, path = "/api/v1/accounts/{account}/users/{id}/avatar", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), request_body(content = Vec<u8>, content_type = "image/png"),
    security(("bearer" = [])),
    responses((status = 204), (status = 413, body = crate::error::Problem), (status = 415, body = crate::error::Problem)))]
async fn put_avatar(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode> {
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge("an avatar may be at most 1024 KiB".into()),
        _ => Error::BadRequest(r.body_text()),
    })?;
    service::put_avatar(&state, &auth.principal(&client), UserId(path.id), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove the user's avatar.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/users/{id}/avatar", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete_avatar(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    service::delete_avatar(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a lockout after too many failed sign-ins.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users/{id}/unlock", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn unlock(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersPasswords>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::http::StatusCode> {
    service::unlock(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize, ToSchema)]
pub struct SecurityOverridesView {
    password_expiry_months: Option<i64>,
    console_idle_minutes: Option<i64>,
    phone_idle_minutes: Option<i64>,
    captcha_required: bool,
    password_sign_in: crate::model::user::PasswordSignIn,
}

impl From<&UserView> for SecurityOverridesView {
    fn from(v: &UserView) -> Self {
        SecurityOverridesView {
            password_expiry_months: v.password_expiry_months,
            console_idle_minutes: v.console_idle_minutes,
            phone_idle_minutes: v.phone_idle_minutes,
            captcha_required: v.captcha_required,
            password_sign_in: v.password_sign_in,
        }
    }
}

/// A user's own password expiry and inactivity timeouts (R24, R34); `null` follows the account.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/security", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = SecurityOverridesView), (status = 404, body = crate::error::Problem)))]
async fn get_security_overrides(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::response::Response> {
    let view = service::get(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(with_etag(axum::http::StatusCode::OK, view.version, SecurityOverridesView::from(&view)))
}

/// Set a user's own password expiry and inactivity timeouts (with `If-Match`: the user's ETag).
#[utoipa::path(put, path = "/api/v1/accounts/{account}/users/{id}/security", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)), request_body = service::SecurityOverrides, security(("bearer" = [])),
    responses((status = 200, body = SecurityOverridesView), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
async fn put_security_overrides(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    path: ItemPath,
    ApiJson(overrides): ApiJson<service::SecurityOverrides>,
) -> Result<axum::response::Response> {
    let expected = if_match(&headers)?;
    let view =
        service::set_security_overrides(&state, &auth.principal(&client), UserId(path.id), overrides, expected).await?;
    Ok(with_etag(axum::http::StatusCode::OK, view.version, SecurityOverridesView::from(&view)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeatsQuery {
    /// How many seat holders to list, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The account's seats (R20): how many are used of how many, per role, and who occupies them.
/// Active members occupy a seat, and so do members out for a time with a date of return; end
/// users do not.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/seats", tag = "accounts",
    params(("account" = String, Path), SeatsQuery), security(("bearer" = [])),
    responses((status = 200, body = super::seats::SeatsView), (status = 403, body = crate::error::Problem)))]
async fn get_seats(
    State(state): State<AppState>,
    auth: Authorized<perm::BillingView>,
    client: ClientInfo,
    ApiQuery(query): ApiQuery<SeatsQuery>,
) -> Result<axum::Json<super::seats::SeatsView>> {
    let limit = page_limit(query.limit)?;
    let principal = auth.principal(&client);
    Ok(axum::Json(super::seats::report(&state, &principal, query.cursor.as_deref(), limit).await?))
}
