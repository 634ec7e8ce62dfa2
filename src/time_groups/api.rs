//! `/api/v1/accounts/{account}/time-groups`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, TimeGroupInput, TimeGroupView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, PageQuery, created, if_match, page_limit, with_etag};
use crate::ids::TimeGroupId;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get, update, delete))
}

/// The account's time groups, in name order.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/time-groups", tag = "queues",
    params(("account" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<TimeGroupView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Authorized<perm::TimeGroupsView>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<Page<TimeGroupView>>> {
    let limit = page_limit(q.limit)?;
    Ok(axum::Json(service::page(&state, auth.account_id(), q.cursor.as_deref(), limit).await?))
}

/// Create a time group: a weekly schedule in a time zone, with holidays.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/time-groups", tag = "queues",
    params(("account" = String, Path)), request_body = TimeGroupInput, security(("bearer" = [])),
    responses((status = 201, body = TimeGroupView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn create(
    State(state): State<AppState>,
    auth: Authorized<perm::TimeGroupsManage>,
    client: ClientInfo,
    ApiJson(input): ApiJson<TimeGroupInput>,
) -> Result<Response> {
    let item = service::create(&state, &auth.principal(&client), input).await?;
    Ok(created("/api/v1/accounts/{account}/time-groups/{id}", &auth.account.slug, item.id, Some(item.version), item))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account}/time-groups/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TimeGroupView), (status = 404, body = crate::error::Problem)))]
async fn get(
    State(state): State<AppState>,
    auth: Authorized<perm::TimeGroupsView>,
    path: ItemPath,
) -> Result<Response> {
    let item = service::get(&state, auth.account_id(), TimeGroupId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, item.version, item))
}

/// Change a time group; `days` and `holidays`, when given, replace the whole list.
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/time-groups/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = TimeGroupInput, security(("bearer" = [])),
    responses((status = 200, body = TimeGroupView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn update(
    State(state): State<AppState>,
    auth: Authorized<perm::TimeGroupsManage>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<TimeGroupInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let item = service::update(&state, &auth.principal(&client), TimeGroupId(path.id), version, input).await?;
    Ok(with_etag(StatusCode::OK, item.version, item))
}

/// Delete a time group that no queue membership uses (409 naming the queues otherwise).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/time-groups/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete(
    State(state): State<AppState>,
    auth: Authorized<perm::TimeGroupsManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    service::delete(&state, &auth.principal(&client), TimeGroupId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
