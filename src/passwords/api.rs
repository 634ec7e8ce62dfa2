//! `POST /api/v1/auth/forgot-password` and `POST /api/v1/auth/reset-password`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Result;
use crate::http::ApiJson;
use crate::model::ClientInfo;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forgot_password)).routes(routes!(reset_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    /// The account's slug (`default` for the first one).
    account: String,
    /// The user's login or email address (at most 320 characters).
    #[schema(max_length = 320, pattern = r"\S")]
    login_or_email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ForgotPasswordAnswer {
    detail: &'static str,
}

/// The one answer, whether or not anyone matched.
pub const FORGOT_ANSWER: &str = "If an active user with an email address matches, a link to choose a new password was sent to that address. It works for 30 minutes.";

/// Ask for a password reset link by mail. The answer is the same whether or not the account,
/// login or address exists.
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202, body = ForgotPasswordAnswer),
        (status = 422, description = "login_or_email empty or too long", body = crate::error::Problem)))]
async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ForgotPasswordRequest>,
) -> Result<(StatusCode, Json<ForgotPasswordAnswer>)> {
    super::reset::request(&state, &req.account, &req.login_or_email, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(ForgotPasswordAnswer { detail: FORGOT_ANSWER })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The last part of the link in the mail (`…/reset-password/{token}`).
    token: String,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

/// Set a new password with a reset link. The user's sessions end; a lockout is lifted.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 204),
        (status = 422, description = "The link is unknown, used, replaced or expired (field token), \
            or the new password breaks the policy (field new_password)", body = crate::error::Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> Result<StatusCode> {
    super::reset::reset(&state, &req.token, req.new_password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
