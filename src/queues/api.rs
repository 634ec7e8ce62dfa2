//! `/api/v1/accounts/{account}/queues…` (the catalog and its members) and
//! `/api/v1/accounts/{account}/users/{id}/queues` (a user's memberships).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{self, MembershipInput, MembershipView, PositionsInput, Put, QueueMembers};
use super::service::{self, QueueInput, QueueView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::clock::{Timestamp, parse_rfc3339};
use crate::error::{Error, FieldIssue, Result};
use crate::http::{
    ApiJson, ApiQuery, ItemPath, Page, SubItemPath, created, if_match, if_match_given, page_limit, with_etag,
};
use crate::ids::{QueueId, UserId};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(list_members))
        .routes(routes!(get_member, put_member, remove_member))
        .routes(routes!(set_positions))
        .routes(routes!(user_queues))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueListQuery {
    /// Matches the name or the number (case-insensitive).
    #[param(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The account's queues, in name order.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/queues", tag = "queues",
    params(("account" = String, Path), QueueListQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<QueueView>), (status = 400, body = crate::error::Problem)))]
async fn list(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesView>,
    ApiQuery(q): ApiQuery<QueueListQuery>,
) -> Result<axum::Json<Page<QueueView>>> {
    let limit = page_limit(q.limit)?;
    Ok(axum::Json(service::page(&state, auth.account_id(), q.q.as_deref(), q.cursor.as_deref(), limit).await?))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account}/queues", tag = "queues",
    params(("account" = String, Path)), request_body = QueueInput, security(("bearer" = [])),
    responses((status = 201, body = QueueView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn create(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesManage>,
    client: ClientInfo,
    ApiJson(input): ApiJson<QueueInput>,
) -> Result<Response> {
    let item = service::create(&state, &auth.principal(&client), input).await?;
    Ok(created("/api/v1/accounts/{account}/queues/{id}", &auth.account.slug, item.id, Some(item.version), item))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account}/queues/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = QueueView), (status = 404, body = crate::error::Problem)))]
async fn get(State(state): State<AppState>, auth: Authorized<perm::QueuesView>, path: ItemPath) -> Result<Response> {
    let item = service::get(&state, auth.account_id(), QueueId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, item.version, item))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account}/queues/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = QueueInput, security(("bearer" = [])),
    responses((status = 200, body = QueueView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn update(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesManage>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<QueueInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let item = service::update(&state, &auth.principal(&client), QueueId(path.id), version, input).await?;
    Ok(with_etag(StatusCode::OK, item.version, item))
}

/// Delete a queue; its members leave it (each recorded).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/queues/{id}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    service::delete(&state, &auth.principal(&client), QueueId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// `true`: only the members at `at` (active agents within their time group), as the PBX
    /// offers calls to them.
    current: Option<bool>,
    /// The instant asked about (RFC 3339); default now.
    at: Option<String>,
}

/// A queue's members in position order (1 first, then login), each saying whether they are a
/// member now: active, and within their time group (in its zone) if they have one. The `ETag`
/// is the version of the member list, for `If-Match` on changes to it.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/queues/{id}/members", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), MembersQuery), security(("bearer" = [])),
    responses((status = 200, body = QueueMembers), (status = 400, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
async fn list_members(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesView>,
    client: ClientInfo,
    path: ItemPath,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> Result<Response> {
    let at = match q.at.as_deref() {
        Some(text) => parse_rfc3339(text).map(Timestamp::from_ms).ok_or_else(|| {
            Error::InvalidParameter(FieldIssue::new(
                "at",
                "invalid_time",
                "an instant as RFC 3339, such as 2026-12-01T09:00:00Z",
            ))
        })?,
        None => state.config.clock.now(),
    };
    let principal = auth.principal(&client);
    let members =
        members::of_queue_rendered(&state, &principal, QueueId(path.id), at, q.current.unwrap_or(false)).await?;
    Ok(with_etag(StatusCode::OK, members.members_version(), members))
}

/// Add an agent to the queue (201), or change their membership (200): join option, position,
/// time group. Only agents (R11) are members (409 otherwise). Needs `users.edit` and the user
/// within your reach. `If-Match` (optional): the member list's version; the answer's `ETag` is
/// the new one.
#[utoipa::path(put, path = "/api/v1/accounts/{account}/queues/{id}/members/{item}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path, description = "the user's id"),
        ("If-Match" = Option<String>, Header)),
    request_body = MembershipInput, security(("bearer" = [])),
    responses((status = 200, body = MembershipView), (status = 201, body = MembershipView),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_member(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: SubItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<MembershipInput>,
) -> Result<Response> {
    let expected = if_match_given(&headers)?;
    let principal = auth.principal(&client);
    let written =
        members::put(&state, &principal, QueueId(path.id), UserId(path.item), expected, input, Put::AddOrChange)
            .await?;
    let status = if written.added { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = with_etag(status, written.members_version, written.view);
    if written.added {
        let location = format!(
            "/api/v1/accounts/{}/queues/{}/members/{}",
            crate::http::path_segment(&auth.account.slug),
            path.id,
            path.item
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
            response.headers_mut().insert(axum::http::header::LOCATION, value);
        }
    }
    Ok(response)
}

/// One agent's membership of the queue, as `members` lists it (now: at the server's clock).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/queues/{id}/members/{item}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path, description = "the user's id")),
    security(("bearer" = [])),
    responses((status = 200, body = MembershipView), (status = 404, body = crate::error::Problem)))]
async fn get_member(
    State(state): State<AppState>,
    auth: Authorized<perm::QueuesView>,
    client: ClientInfo,
    path: SubItemPath,
) -> Result<axum::Json<MembershipView>> {
    let principal = auth.principal(&client);
    Ok(axum::Json(members::one(&state, &principal, QueueId(path.id), UserId(path.item)).await?))
}

/// Remove an agent from the queue. Needs `users.edit` and the user within your reach.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/queues/{id}/members/{item}", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path, description = "the user's id"),
        ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
async fn remove_member(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: SubItemPath,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let expected = if_match_given(&headers)?;
    members::remove(&state, &auth.principal(&client), QueueId(path.id), UserId(path.item), expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reorder: set many members' positions at once, all or none. `If-Match` (required): the
/// version of the member list being reordered.
#[utoipa::path(put, path = "/api/v1/accounts/{account}/queues/{id}/positions", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = PositionsInput, security(("bearer" = [])),
    responses((status = 200, body = QueueMembers), (status = 404, body = crate::error::Problem),
        (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 428, body = crate::error::Problem)))]
async fn set_positions(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PositionsInput>,
) -> Result<Response> {
    let version = if_match(&headers)?;
    let members = members::set_positions(&state, &auth.principal(&client), QueueId(path.id), version, input).await?;
    Ok(with_etag(StatusCode::OK, members.members_version, members))
}

/// The queues a user is a member of, with join option, position and time group.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/queues", tag = "queues",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<MembershipView>), (status = 404, body = crate::error::Problem)))]
async fn user_queues(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<Vec<MembershipView>>> {
    Ok(axum::Json(members::of_user(&state, &auth.principal(&client), UserId(path.id)).await?))
}
