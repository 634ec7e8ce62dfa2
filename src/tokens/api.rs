//! `…/tokens`: API tokens for PBX components.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{NewToken, TokenView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, created, page_limit};
use crate::state::AppState;
use axum::response::Response;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(get_token, revoke_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "IVR server".
    name: String,
    /// A subset of your own permissions.
    permissions: Vec<String>,
    /// RFC 3339; omit or `null` for a token that does not expire.
    #[serde(default)]
    expires_at: Option<String>,
}

/// Make an API token; the answer holds the token itself, shown this once.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/tokens", tag = "tokens",
    params(("account" = String, Path)), request_body = CreateTokenRequest, security(("bearer" = [])),
    responses((status = 201, body = TokenView), (status = 422, body = crate::error::Problem)))]
async fn create_token(
    State(state): State<AppState>,
    auth: Authorized<perm::TokensManage>,
    client: ClientInfo,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<Response> {
    let actor = auth.caller.actor(&client).in_account(auth.account_id());
    let new = NewToken { name: req.name, permissions: req.permissions, expires_at: req.expires_at };
    let view = super::service::create(&state, &auth.caller, &actor, auth.account_id(), new).await?;
    Ok(created("/api/v1/accounts/{account}/tokens/{id}", &auth.account.slug, view.id, None, view))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// Include revoked tokens.
    #[serde(default)]
    include_revoked: bool,
    /// Rows per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The account's API tokens (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/tokens", tag = "tokens",
    params(("account" = String, Path), TokenQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<TokenView>)))]
async fn list_tokens(
    State(state): State<AppState>,
    auth: Authorized<perm::TokensView>,
    client: ClientInfo,
    ApiQuery(query): ApiQuery<TokenQuery>,
) -> Result<Json<Page<TokenView>>> {
    let limit = page_limit(query.limit)?;
    let principal = auth.principal(&client);
    Ok(Json(super::service::page(&state, &principal, query.include_revoked, query.cursor.as_deref(), limit).await?))
}

/// One token: its name, permissions, maker and times (never the token itself).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/tokens/{id}", tag = "tokens",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TokenView), (status = 404, body = crate::error::Problem)))]
async fn get_token(
    State(state): State<AppState>,
    auth: Authorized<perm::TokensView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Json<TokenView>> {
    Ok(Json(super::service::get(&state, &auth.principal(&client), path.id).await?))
}

/// Revoke a token: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/tokens/{id}", tag = "tokens",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    auth: Authorized<perm::TokensManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    super::service::revoke(&state, &auth.principal(&client), path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
