//! Self-service for the signed-in user: `/api/v1/me/password` and `/api/v1/me/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, Result};
use crate::http::ApiJson;
use crate::ids::SessionId;
use crate::model::{Caller, ClientInfo};
use crate::sessions;
use crate::sessions::service::SessionView;
use crate::state::AppState;
use crate::store::sessions::SessionFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(change_email))
        .routes(routes!(my_sessions))
        .routes(routes!(end_my_session))
        .routes(routes!(end_other_sessions))
}

/// These routes are a person's own; an API token acts for its creator only within its permissions.
fn person(caller: &Caller) -> Result<()> {
    match caller.api_token {
        Some(_) => Err(Error::Forbidden("an API token cannot use the signed-in user's own routes".into())),
        None => Ok(()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
    /// When given, must equal `new_password` (R10).
    #[schema(value_type = Option<String>, format = Password)]
    new_password_confirmation: Option<SecretString>,
}

/// Change my password (the current one is required). My other sessions end; this one goes on.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangePasswordRequest, security(("bearer" = [])),
    responses((status = 204), (status = 422, description = "Wrong current password, or the new one breaks the policy", body = crate::error::Problem)))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode> {
    if req.new_password_confirmation.as_ref().is_some_and(|c| c.expose_secret() != req.new_password.expose_secret()) {
        return Err(Error::invalid("new_password_confirmation", "mismatch", "does not match the new password"));
    }
    super::service::change_own_password(&state, &caller, &client, req.current_password, req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// The new address; `null` removes it.
    email: Option<String>,
}

/// Change my email (the current password is required, D3). Password-reset links sent before
/// stop working; an admin's old address is told of the change.
#[utoipa::path(put, path = "/api/v1/me/email", tag = "me", request_body = ChangeEmailRequest, security(("bearer" = [])),
    responses((status = 200, body = crate::users::service::UserView), (status = 409, body = crate::error::Problem),
        (status = 422, description = "Wrong current password, or not an email address", body = crate::error::Problem)))]
async fn change_email(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> Result<Json<crate::users::service::UserView>> {
    person(&caller)?;
    Ok(Json(super::service::change_own_email(&state, &caller, &client, req.current_password, req.email).await?))
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    items: Vec<SessionView>,
}

/// My live sessions; `current` marks the one this request uses.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SessionList)))]
async fn my_sessions(State(state): State<AppState>, caller: Caller) -> Result<Json<SessionList>> {
    person(&caller)?;
    let filter = SessionFilter { user: Some(caller.user), ..Default::default() };
    let (items, _) = sessions::service::list(
        &state,
        &caller.principal(caller.account, crate::access::Permission::SessionsView, &ClientInfo::default()),
        &caller.home_account.security,
        &filter,
        500,
        Some(caller.session),
    )
    .await?;
    Ok(Json(SessionList { items }))
}

/// End one of my sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn end_my_session(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    path: crate::http::ItemPath,
) -> Result<StatusCode> {
    let id = path.id;
    person(&caller)?;
    let me = caller.principal(caller.account, crate::access::Permission::SessionsManage, &client);
    sessions::service::end(&state, &me, SessionId(id), Some(caller.user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct EndedOthers {
    /// How many sessions ended.
    pub ended: u64,
}

/// End all my sessions but this one.
#[utoipa::path(post, path = "/api/v1/me/sessions/end-others", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = EndedOthers)))]
async fn end_other_sessions(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
) -> Result<Json<EndedOthers>> {
    person(&caller)?;
    let keep = Some(caller.session);
    let ended = sessions::service::end_all_for(
        &state,
        &caller.actor(&client),
        caller.user,
        &caller.login,
        keep,
        "ended_by_user",
    )
    .await?;
    Ok(Json(EndedOthers { ended }))
}
