//! `/api/v1/accounts/{account}/dial-rules|music-on-hold|intercept-groups` (the telephony
//! catalogs), `/api/v1/accounts/{account}/call-settings` (the account's defaults) and
//! `/api/v1/accounts/{account}/users/{id}/call-settings` (a user's, R38).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::catalog::{self, CallCatalogInput, CallCatalogItem};
use super::settings::{self, AccountCallSettings, CallSettingsInput, UserCallSettings};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, PageQuery, created, if_match, page_limit, with_etag};
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::calls::CallCatalog;

/// The five handlers of one catalog; each names its permission in its signature.
macro_rules! call_catalog_routes {
    ($module:ident, $kind:expr, $view:ty, $manage:ty, $collection:literal, $item:literal) => {
        mod $module {
            use super::*;

            pub fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update, delete))
            }

            #[utoipa::path(get, path = $collection, tag = "call settings", params(("account" = String, Path), PageQuery),
                security(("bearer" = [])), responses((status = 200, body = Page<CallCatalogItem>)))]
            async fn list(
                State(state): State<AppState>,
                auth: Authorized<$view>,
                ApiQuery(q): ApiQuery<PageQuery>,
            ) -> Result<axum::Json<Page<CallCatalogItem>>> {
                let limit = page_limit(q.limit)?;
                Ok(axum::Json(catalog::page(&state, $kind, auth.account_id(), q.cursor.as_deref(), limit).await?))
            }

            #[utoipa::path(post, path = $collection, tag = "call settings", params(("account" = String, Path)),
                request_body = CallCatalogInput, security(("bearer" = [])),
                responses((status = 201, body = CallCatalogItem), (status = 409, body = crate::error::Problem),
                    (status = 422, body = crate::error::Problem)))]
            async fn create(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                ApiJson(input): ApiJson<CallCatalogInput>,
            ) -> Result<Response> {
                let item = catalog::create(&state, &auth.principal(&client), $kind, input).await?;
                Ok(created($item, &auth.account.slug, item.id, Some(item.version), item))
            }

            #[utoipa::path(get, path = $item, tag = "call settings", params(("account" = String, Path), ("id" = i64, Path)),
                security(("bearer" = [])), responses((status = 200, body = CallCatalogItem), (status = 404, body = crate::error::Problem)))]
            async fn get(State(state): State<AppState>, auth: Authorized<$view>, path: ItemPath) -> Result<Response> {
                let item = catalog::get(&state, $kind, auth.account_id(), path.id).await?;
                Ok(with_etag(StatusCode::OK, item.version, item))
            }

            #[utoipa::path(patch, path = $item, tag = "call settings",
                params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
                request_body = CallCatalogInput, security(("bearer" = [])),
                responses((status = 200, body = CallCatalogItem), (status = 404, body = crate::error::Problem),
                    (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem),
                    (status = 422, body = crate::error::Problem)))]
            async fn update(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                path: ItemPath,
                headers: HeaderMap,
                ApiJson(input): ApiJson<CallCatalogInput>,
            ) -> Result<Response> {
                let version = if_match(&headers)?;
                let item = catalog::update(&state, &auth.principal(&client), $kind, path.id, version, input).await?;
                Ok(with_etag(StatusCode::OK, item.version, item))
            }

            #[utoipa::path(delete, path = $item, tag = "call settings", params(("account" = String, Path), ("id" = i64, Path)),
                security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem),
                    (status = 409, body = crate::error::Problem)))]
            async fn delete(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                path: ItemPath,
            ) -> Result<StatusCode> {
                catalog::delete(&state, &auth.principal(&client), $kind, path.id).await?;
                Ok(StatusCode::NO_CONTENT)
            }
        }
    };
}

call_catalog_routes!(
    dial_rules,
    CallCatalog::DialRules,
    perm::DialRulesView,
    perm::DialRulesManage,
    "/api/v1/accounts/{account}/dial-rules",
    "/api/v1/accounts/{account}/dial-rules/{id}"
);
call_catalog_routes!(
    music_on_hold,
    CallCatalog::MusicOnHold,
    perm::MusicOnHoldView,
    perm::MusicOnHoldManage,
    "/api/v1/accounts/{account}/music-on-hold",
    "/api/v1/accounts/{account}/music-on-hold/{id}"
);
call_catalog_routes!(
    intercept_groups,
    CallCatalog::InterceptGroups,
    perm::InterceptGroupsView,
    perm::InterceptGroupsManage,
    "/api/v1/accounts/{account}/intercept-groups",
    "/api/v1/accounts/{account}/intercept-groups/{id}"
);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(dial_rules::router())
        .merge(music_on_hold::router())
        .merge(intercept_groups::router())
        .routes(routes!(get_account_settings, patch_account_settings))
        .routes(routes!(get_user_settings, patch_user_settings))
}

/// The account's call settings: the defaults every user has unless they have their own.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/call-settings", tag = "call settings",
    params(("account" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AccountCallSettings)))]
async fn get_account_settings(State(state): State<AppState>, auth: Authorized<perm::SettingsView>) -> Result<Response> {
    let s = settings::account_settings(&state, auth.account_id()).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}

/// Change the account's call settings; a field left out is unchanged. `null` clears
/// `dial_rules`, `music_on_hold` and `caller_id`, and returns the others to the built-in default.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/call-settings", tag = "call settings",
    params(("account" = String, Path), ("If-Match" = String, Header)), request_body = CallSettingsInput,
    security(("bearer" = [])),
    responses((status = 200, body = AccountCallSettings), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn patch_account_settings(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CallSettingsInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let s = settings::set_account(&state, &auth.principal(&client), version, input).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}

/// A user's call settings: for each, the value in effect, whether it is the user's own or the
/// account's (`source`), and the account's default.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/call-settings", tag = "call settings",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = UserCallSettings), (status = 404, body = crate::error::Problem)))]
async fn get_user_settings(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Response> {
    let s = settings::user_settings(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}

/// Change a user's call settings: a value makes the setting the user's own, `null` returns it to
/// the account's default, a field left out is unchanged. Needs `users.edit` and the user within
/// your reach.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/users/{id}/call-settings", tag = "call settings",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = CallSettingsInput, security(("bearer" = [])),
    responses((status = 200, body = UserCallSettings), (status = 404, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn patch_user_settings(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CallSettingsInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let s = settings::set_user(&state, &auth.principal(&client), UserId(path.id), version, input).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}
