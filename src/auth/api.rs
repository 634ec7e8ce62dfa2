//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/session`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Caller, ClientInfo, SessionKind};
use crate::clock::to_rfc3339;
use crate::error::Result;
use crate::http::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(session))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's slug (`default` for the first one).
    account: String,
    login: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    expires_at: String,
}

/// Sign in with login and password; returns a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "Sign-in refused", body = crate::error::Problem)))]
async fn login(State(state): State<AppState>, client: ClientInfo, ApiJson(req): ApiJson<LoginRequest>) -> Result<Json<LoginResponse>> {
    let signed_in = super::sign_in(&state, &req.account, &req.login, req.password, SessionKind::Api, &client).await?;
    Ok(Json(LoginResponse { token: signed_in.token, expires_at: to_rfc3339(signed_in.expires_at) }))
}

/// End the session the request is made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn logout(State(state): State<AppState>, caller: Caller, client: ClientInfo) -> Result<StatusCode> {
    super::sign_out(&state, &caller, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    user: SessionUser,
    account: SessionAccount,
    roles: Vec<String>,
    /// Effective permissions: through roles, groups' roles and direct grants.
    permissions: Vec<String>,
    platform_operator: bool,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionUser {
    id: i64,
    login: String,
    display_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionAccount {
    id: i64,
    slug: String,
}

/// Who the bearer is: user, account, roles, effective permissions, expiry.
#[utoipa::path(get, path = "/api/v1/session", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::Problem)))]
async fn session(caller: Caller) -> Json<SessionInfo> {
    let permissions = if caller.platform_operator {
        crate::access::Permission::ALL.iter().map(|p| p.as_str().to_string()).collect()
    } else {
        caller.permissions.iter().map(|p| p.as_str().to_string()).collect()
    };
    Json(SessionInfo {
        user: SessionUser { id: caller.user.0, login: caller.login, display_name: caller.display_name },
        account: SessionAccount { id: caller.account.0, slug: caller.account_slug },
        roles: caller.roles,
        permissions,
        platform_operator: caller.platform_operator,
        expires_at: to_rfc3339(caller.session_expires_at),
    })
}
