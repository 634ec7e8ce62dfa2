//! `/api/v1/accounts/{account}/invitations…` (R19): invite, list, resend, readdress, revoke.
//! Accepting is the invited person's, through the link's page (`/invite/{token}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::invitations::{self, InvitationView, InviteRequest};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::{Issues, Result};
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, page_limit};
use crate::ids::InvitationId;
use crate::model::invitation::InvitationState;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitations))
        .routes(routes!(get_invitation, readdress_invitation, revoke_invitation))
        .routes(routes!(send_invitation))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvitationsQuery {
    /// Comma list: `saved,sent,accepted,revoked`.
    #[param(pattern = r"^((saved|sent|accepted|revoked)(,(saved|sent|accepted|revoked))*)?$")]
    state: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The account's invitations, newest first (of the users the caller sees, D8).
#[utoipa::path(get, path = "/api/v1/accounts/{account}/invitations", tag = "users",
    params(("account" = String, Path), InvitationsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<InvitationView>)))]
async fn list_invitations(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    ApiQuery(q): ApiQuery<InvitationsQuery>,
) -> Result<axum::Json<Page<InvitationView>>> {
    let mut issues = Issues::new();
    let mut states = Vec::new();
    for name in q.state.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match InvitationState::parse(name) {
            Some(s) => states.push(s),
            None => issues.add("state", "unknown_choice", "must be saved, sent, accepted or revoked"),
        }
    }
    issues.into_result()?;
    let limit = page_limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| crate::http::decode_id_cursor(crate::http::CursorOf::Invitations, c))
        .transpose()?;
    let mut items = invitations::list(&state, &auth.principal(&client), &states, before, limit + 1).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|i| crate::http::encode_id_cursor(crate::http::CursorOf::Invitations, i.id.0))
    } else {
        None
    };
    Ok(axum::Json(Page { items, next_cursor }))
}

/// Invite one or many people by email (R19): each becomes an `invited` user with the roles,
/// desks and groups given, occupying a seat (R20); all or none. With `"send": false` the
/// invitations are saved to be sent later (`…/invitations/{id}/send`).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/invitations", tag = "users",
    params(("account" = String, Path)), request_body = InviteRequest, security(("bearer" = [])),
    responses((status = 201, body = Vec<InvitationView>), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn create_invitations(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersCreate>,
    client: ClientInfo,
    ApiJson(req): ApiJson<InviteRequest>,
) -> Result<Response> {
    let made = invitations::invite(&state, &auth.principal(&client), req).await?;
    Ok((StatusCode::CREATED, axum::Json(made)).into_response())
}

#[utoipa::path(get, path = "/api/v1/accounts/{account}/invitations/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = InvitationView), (status = 404, body = crate::error::Problem)))]
async fn get_invitation(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<InvitationView>> {
    Ok(axum::Json(invitations::get(&state, &auth.principal(&client), InvitationId(path.id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Readdress {
    /// The new address (R2: unique in the account); the user's email changes with it.
    #[schema(format = Email, min_length = 3)]
    email: String,
}

/// Change the address of an open invitation: a link already sent stops working, and the
/// invitation goes again to the new address (as a resend: not within a minute, 429).
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/invitations/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), request_body = Readdress, security(("bearer" = [])),
    responses((status = 200, body = InvitationView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, description = "A sent invitation was sent less than a minute ago", body = crate::error::Problem)))]
async fn readdress_invitation(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    ApiJson(req): ApiJson<Readdress>,
) -> Result<axum::Json<InvitationView>> {
    let principal = auth.principal(&client);
    Ok(axum::Json(invitations::readdress(&state, &principal, InvitationId(path.id), &req.email).await?))
}

/// Revoke an open invitation: its link stops working and the invited user is removed (which
/// needs `users.delete`, as deleting them would).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/invitations/{id}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = InvitationView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersDelete>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<InvitationView>> {
    Ok(axum::Json(invitations::revoke(&state, &auth.principal(&client), InvitationId(path.id)).await?))
}

/// Send a saved invitation, or send an open one again with a new link (the previous link stops
/// working; the new one is valid for the account's `invitations.valid_days`). Not again within
/// a minute (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/invitations/{id}/send", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = InvitationView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
async fn send_invitation(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersCreate>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<InvitationView>> {
    Ok(axum::Json(invitations::resend(&state, &auth.principal(&client), InvitationId(path.id)).await?))
}
