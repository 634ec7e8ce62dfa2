//! The account's live sessions (R32): `…/sessions`, `…/sessions/{id}`, `…/users/{id}/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::SessionView;
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::{Issues, Result};
use crate::http::{ApiQuery, CursorOf, ItemPath, decode_id_cursor, encode_id_cursor, page_limit};
use crate::ids::{SessionId, UserId};
use crate::state::AppState;
use crate::store::sessions::SessionFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(user_sessions, end_user_sessions))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Only these kinds: comma list of `console`, `api`, `phone`.
    #[param(pattern = r"^((console|api|phone)(,(console|api|phone))*)?$")]
    kind: Option<String>,
    /// Only this user's sessions.
    user: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

impl SessionQuery {
    fn to_filter(&self) -> Result<(SessionFilter, i64)> {
        let mut issues = Issues::new();
        let mut kinds = Vec::new();
        for kind in self.kind.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|k| !k.is_empty()) {
            match super::SessionKind::parse(kind) {
                Some(k) => kinds.push(k.as_str().to_string()),
                None => issues.add("kind", "unknown", format!("{kind:?} is not console, api or phone")),
            }
        }
        let before = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| decode_id_cursor(CursorOf::Sessions, c))
            .transpose()?;
        let limit = page_limit(self.limit).unwrap_or_else(|e| {
            e.field_issues().into_iter().for_each(|i| issues.push(i));
            50
        });
        issues.into_result()?;
        Ok((SessionFilter { user: self.user.map(UserId), kinds, before, ..Default::default() }, limit))
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionPage {
    items: Vec<SessionView>,
    next_cursor: Option<String>,
}

/// Who is signed in: the account's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/sessions", tag = "sessions",
    params(("account" = String, Path), SessionQuery), security(("bearer" = [])),
    responses((status = 200, body = SessionPage), (status = 422, body = crate::error::Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    auth: Authorized<perm::SessionsView>,
    client: ClientInfo,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> Result<Json<SessionPage>> {
    let (filter, limit) = query.to_filter()?;
    let current = Some(auth.caller.session);
    let (items, next) =
        super::service::list(&state, &auth.principal(&client), &auth.account.security, &filter, limit, current).await?;
    Ok(Json(SessionPage { items, next_cursor: next.map(|id| encode_id_cursor(CursorOf::Sessions, id)) }))
}

/// End one session: its token stops working at once.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/sessions/{id}", tag = "sessions",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn end_session(
    State(state): State<AppState>,
    auth: Authorized<perm::SessionsManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<StatusCode> {
    super::service::end(&state, &auth.principal(&client), SessionId(path.id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct UserSessions {
    items: Vec<SessionView>,
}

/// A user's live sessions.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/sessions", tag = "sessions",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = UserSessions), (status = 404, body = crate::error::Problem)))]
async fn user_sessions(
    State(state): State<AppState>,
    auth: Authorized<perm::SessionsView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Json<UserSessions>> {
    let principal = auth.principal(&client);
    let current = Some(auth.caller.session);
    let items =
        super::service::list_of_user(&state, &principal, &auth.account.security, UserId(path.id), current).await?;
    Ok(Json(UserSessions { items }))
}

#[derive(Serialize, ToSchema)]
pub struct EndedSessions {
    ended: u64,
}

/// End all of a user's sessions (R32).
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/users/{id}/sessions", tag = "sessions",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = EndedSessions), (status = 404, body = crate::error::Problem)))]
async fn end_user_sessions(
    State(state): State<AppState>,
    auth: Authorized<perm::SessionsManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Json<EndedSessions>> {
    let ended =
        super::service::end_all_of_reachable(&state, &auth.principal(&client), UserId(path.id), "ended_by_admin")
            .await?;
    Ok(Json(EndedSessions { ended }))
}
