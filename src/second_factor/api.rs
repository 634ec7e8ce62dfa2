//! Second-factor routes: My Account (`/api/v1/me/second-factor…`) and the admin's reset.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::authenticator::SetupDetails;
use super::manage::{self, SecondFactorStatus};
use crate::auth::{Authorized, Caller, ClientInfo};
use crate::error::{Error, Result};
use crate::http::{ApiJson, ItemPath};
use crate::ids::UserId;
use crate::model::user::{TwoFactorMethod, TwoFactorMode};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_status, set_mine))
        .routes(routes!(start_enrolment))
        .routes(routes!(confirm_enrolment))
        .routes(routes!(regenerate_codes))
        .routes(routes!(reset_authenticator))
        .routes(routes!(send_enrolment_link))
}

/// An authenticator app's set-up: scan the QR code or type the key.
#[derive(Serialize, ToSchema)]
pub struct TotpSetup {
    /// The key in base32, for typing into the app.
    secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    uri: String,
    /// The QR code as SVG markup.
    qr_svg: String,
    /// The QR code as a PNG image, base64.
    qr_png: String,
}

impl From<SetupDetails> for TotpSetup {
    fn from(d: SetupDetails) -> Self {
        TotpSetup { secret: d.secret, uri: d.uri, qr_svg: d.qr_svg, qr_png: d.qr_png_base64 }
    }
}

/// My second factor.
#[utoipa::path(get, path = "/api/v1/me/second-factor", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SecondFactorStatus)))]
async fn my_status(State(state): State<AppState>, caller: Caller) -> Result<Json<SecondFactorStatus>> {
    Ok(Json(manage::status(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMineRequest {
    /// `disabled`, `email`, `totp` or `either`.
    #[schema(value_type = crate::model::user::TwoFactorMethod)]
    method: String,
    /// `always` or `suspicious`.
    #[serde(default)]
    #[schema(value_type = Option<crate::model::user::TwoFactorMode>)]
    mode: Option<String>,
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
}

/// Choose my second-factor method and mode (my current password is required).
#[utoipa::path(put, path = "/api/v1/me/second-factor", tag = "me", request_body = SetMineRequest, security(("bearer" = [])),
    responses((status = 200, body = SecondFactorStatus),
        (status = 422, description = "Wrong password, mandatory second factor (R27), authenticator not set up, no email", body = crate::error::Problem)))]
async fn set_mine(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<SetMineRequest>,
) -> Result<Json<SecondFactorStatus>> {
    let method = TwoFactorMethod::parse(&req.method)
        .ok_or_else(|| Error::invalid("method", "unknown_choice", "must be disabled, email, totp or either"))?;
    let mode = match req.mode.as_deref() {
        None => None,
        Some(m) => Some(
            TwoFactorMode::parse(m)
                .ok_or_else(|| Error::invalid("mode", "unknown_choice", "must be always or suspicious"))?,
        ),
    };
    let current = manage::status(&state, &caller).await?;
    Ok(Json(
        manage::set_own(&state, &caller, &client, method, mode.unwrap_or(current.mode), req.current_password).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentPasswordRequest {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
}

/// Start setting up a new authenticator app. The current one (if any) keeps working until a
/// code from the new one is confirmed.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp", tag = "me", request_body = CurrentPasswordRequest, security(("bearer" = [])),
    responses((status = 200, body = TotpSetup), (status = 422, body = crate::error::Problem)))]
async fn start_enrolment(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<CurrentPasswordRequest>,
) -> Result<Json<TotpSetup>> {
    Ok(Json(manage::start_enrolment(&state, &caller, &client, req.current_password).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once; each signs in once in place of the authenticator.
    recovery_codes: Vec<String>,
}

/// Confirm the new authenticator with one of its codes; answers with new recovery codes.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp/confirm", tag = "me", request_body = ConfirmRequest, security(("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 422, body = crate::error::Problem)))]
async fn confirm_enrolment(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes { recovery_codes: manage::confirm_enrolment(&state, &caller, &client, &req.code).await? }))
}

/// New recovery codes; the old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/second-factor/recovery-codes", tag = "me", request_body = CurrentPasswordRequest, security(("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 422, body = crate::error::Problem)))]
async fn regenerate_codes(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<CurrentPasswordRequest>,
) -> Result<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes {
        recovery_codes: manage::regenerate_recovery_codes(&state, &caller, &client, req.current_password).await?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentLinkSent {
    /// Where the one-time enrolment link went (masked); `null` when the user has no email address.
    enrolment_link_sent_to: Option<String>,
}

/// "Reset OTP authenticator secret" (R29): the user sets up a new authenticator at their next
/// sign-in and gets new recovery codes. A user with an email address is sent a one-time
/// enrolment link (never the key).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users/{id}/second-factor/reset-totp", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = EnrolmentLinkSent), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn reset_authenticator(
    State(state): State<AppState>,
    auth: Authorized<crate::access::perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Json<EnrolmentLinkSent>> {
    let sent_to = manage::reset_authenticator(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(Json(EnrolmentLinkSent { enrolment_link_sent_to: sent_to }))
}

/// Email the user a one-time link to set up their authenticator app (when they have one to set up).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users/{id}/second-factor/enrolment-link", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 202, body = EnrolmentLinkSent), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn send_enrolment_link(
    State(state): State<AppState>,
    auth: Authorized<crate::access::perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<(StatusCode, Json<EnrolmentLinkSent>)> {
    let sent_to = super::enrolment::send(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok((StatusCode::ACCEPTED, Json(EnrolmentLinkSent { enrolment_link_sent_to: Some(sent_to) })))
}
