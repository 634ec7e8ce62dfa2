//! `/api/v1/accounts/{account}/identity-providers` and a user's `…/identities`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::identities::{self, LinkedIdentityView};
use super::providers::{self, ProviderInput, ProviderView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ItemPath, SubItemPath, created, if_match, with_etag};
use crate::ids::{IdentityProviderId, LinkedIdentityId, UserId};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(get_provider, update_provider, delete_provider))
        .routes(routes!(list_identities))
        .routes(routes!(unlink_identity))
}

/// The account's identity providers (single sign-on). Their client secrets are never shown.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/identity-providers", tag = "single sign-on",
    params(("account" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<ProviderView>)))]
async fn list_providers(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsView>,
) -> Result<axum::Json<Vec<ProviderView>>> {
    Ok(axum::Json(providers::list(&state, auth.account_id(), &auth.account.slug).await?))
}

/// Add an OpenID Connect provider (admins only: it signs people in as any user). Its
/// configuration is discovered from the issuer before it is saved.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/identity-providers", tag = "single sign-on",
    params(("account" = String, Path)), request_body = ProviderInput, security(("bearer" = [])),
    responses((status = 201, body = ProviderView), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_provider(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<Response> {
    let view = providers::create(&state, &auth.principal(&client), &auth.account.slug, input).await?;
    let template = "/api/v1/accounts/{account}/identity-providers/{id}";
    Ok(created(template, &auth.account.slug, view.id.0, Some(view.version), view))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account}/identity-providers/{id}", tag = "single sign-on",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProviderView), (status = 404, body = crate::error::Problem)))]
async fn get_provider(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsView>,
    path: ItemPath,
) -> Result<Response> {
    let view = providers::get(&state, auth.account_id(), &auth.account.slug, IdentityProviderId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}

/// Change a provider; a new `client_secret` replaces the old one, an absent one keeps it.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/identity-providers/{id}", tag = "single sign-on",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = ProviderInput, security(("bearer" = [])),
    responses((status = 200, body = ProviderView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 428, body = crate::error::Problem)))]
async fn update_provider(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let principal = auth.principal(&client);
    let id = IdentityProviderId(path.id);
    let view = providers::update(&state, &principal, &auth.account.slug, id, version, input).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}

/// Delete a provider and the identities linked through it.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/identity-providers/{id}", tag = "single sign-on",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn delete_provider(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    providers::delete(&state, &auth.principal(&client), IdentityProviderId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The identities at the account's providers linked to a user.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/identities", tag = "single sign-on",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<LinkedIdentityView>), (status = 404, body = crate::error::Problem)))]
async fn list_identities(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<Vec<LinkedIdentityView>>> {
    Ok(axum::Json(identities::list(&state, &auth.principal(&client), UserId(path.id)).await?))
}

/// Unlink an identity from a user: that person's next sign-in through the provider matches by
/// email again.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/users/{id}/identities/{item}", tag = "single sign-on",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn unlink_identity(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: SubItemPath,
) -> Result<StatusCode> {
    identities::unlink(&state, &auth.principal(&client), UserId(path.id), LinkedIdentityId(path.item)).await?;
    Ok(StatusCode::NO_CONTENT)
}
