//! `/api/v1/accounts/{account}/roles|groups|desks|skills` and `GET /api/v1/permissions`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{CatalogInput, CatalogItem, Kind};
use crate::access::{Permission, perm};
use crate::auth::{Authorized, Caller, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, PageQuery, created, if_match, page_limit, with_etag};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PermissionInfo {
    name: &'static str,
    description: &'static str,
    /// Held by API tokens only (`directory.read`): roles, groups and users cannot hold it.
    tokens_only: bool,
}

/// The permission catalog: what roles and API tokens can be given.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Vec<PermissionInfo>)))]
async fn permissions(_caller: Caller) -> axum::Json<Vec<PermissionInfo>> {
    axum::Json(
        Permission::account_permissions()
            .map(|p| PermissionInfo { name: p.as_str(), description: p.description(), tokens_only: p.tokens_only() })
            .collect(),
    )
}

/// Generates the five handlers of one kind; each names its permission in its signature.
macro_rules! catalog_routes {
    ($module:ident, $kind:expr, $tag:literal, $view:ty, $manage:ty,
     $collection:literal, $item:literal) => {
        mod $module {
            use super::*;

            pub fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update, delete))
            }

            #[utoipa::path(get, path = $collection, tag = $tag, params(("account" = String, Path), PageQuery),
                security(("bearer" = [])), responses((status = 200, body = Page<CatalogItem>)))]
            async fn list(
                State(state): State<AppState>,
                auth: Authorized<$view>,
                ApiQuery(q): ApiQuery<PageQuery>,
            ) -> Result<axum::Json<Page<CatalogItem>>> {
                let limit = page_limit(q.limit)?;
                let page = super::super::service::page(&state, $kind, auth.account_id(), q.cursor.as_deref(), limit);
                Ok(axum::Json(page.await?))
            }

            #[utoipa::path(post, path = $collection, tag = $tag, params(("account" = String, Path)),
                request_body = CatalogInput, security(("bearer" = [])),
                responses((status = 201, body = CatalogItem), (status = 409, body = crate::error::Problem),
                    (status = 422, body = crate::error::Problem)))]
            async fn create(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                ApiJson(input): ApiJson<CatalogInput>,
            ) -> Result<Response> {
                let item = super::super::service::create(&state, &auth.principal(&client), $kind, input).await?;
                Ok(created($item, &auth.account.slug, item.id, Some(item.version), item))
            }

            #[utoipa::path(get, path = $item, tag = $tag, params(("account" = String, Path), ("id" = i64, Path)),
                security(("bearer" = [])), responses((status = 200, body = CatalogItem), (status = 404, body = crate::error::Problem)))]
            async fn get(State(state): State<AppState>, auth: Authorized<$view>, path: ItemPath) -> Result<Response> {
                let item = super::super::service::get(&state, $kind, auth.account_id(), path.id).await?;
                Ok(with_etag(StatusCode::OK, item.version, item))
            }

            #[utoipa::path(patch, path = $item, tag = $tag,
                params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
                request_body = CatalogInput, security(("bearer" = [])),
                responses((status = 200, body = CatalogItem), (status = 412, body = crate::error::Problem),
                    (status = 422, body = crate::error::Problem)))]
            async fn update(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                path: ItemPath,
                headers: HeaderMap,
                ApiJson(input): ApiJson<CatalogInput>,
            ) -> Result<Response> {
                let version = if_match(&headers)?;
                let item = super::super::service::update(&state, &auth.principal(&client), $kind, path.id, version, input).await?;
                Ok(with_etag(StatusCode::OK, item.version, item))
            }

            #[utoipa::path(delete, path = $item, tag = $tag, params(("account" = String, Path), ("id" = i64, Path)),
                security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem),
                    (status = 422, body = crate::error::Problem)))]
            async fn delete(
                State(state): State<AppState>,
                auth: Authorized<$manage>,
                client: ClientInfo,
                path: ItemPath,
            ) -> Result<StatusCode> {
                super::super::service::delete(&state, &auth.principal(&client), $kind, path.id).await?;
                Ok(StatusCode::NO_CONTENT)
            }
        }
    };
}

catalog_routes!(
    roles,
    Kind::Role,
    "roles",
    perm::RolesView,
    perm::RolesManage,
    "/api/v1/accounts/{account}/roles",
    "/api/v1/accounts/{account}/roles/{id}"
);
catalog_routes!(
    groups,
    Kind::Group,
    "groups",
    perm::GroupsView,
    perm::GroupsManage,
    "/api/v1/accounts/{account}/groups",
    "/api/v1/accounts/{account}/groups/{id}"
);
catalog_routes!(
    desks,
    Kind::Desk,
    "desks",
    perm::DesksView,
    perm::DesksManage,
    "/api/v1/accounts/{account}/desks",
    "/api/v1/accounts/{account}/desks/{id}"
);
catalog_routes!(
    skills,
    Kind::Skill,
    "skills",
    perm::SkillsView,
    perm::SkillsManage,
    "/api/v1/accounts/{account}/skills",
    "/api/v1/accounts/{account}/skills/{id}"
);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(permissions))
        .merge(roles::router())
        .merge(groups::router())
        .merge(desks::router())
        .merge(skills::router())
}
