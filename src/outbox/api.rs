//! `…/outbox`: the account's mail, its state and why it failed (never its text), and retrying
//! a failed message.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{OutboxItem, STATES};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::{Issues, Result};
use crate::http::Page;
use crate::http::{ApiQuery, CursorOf, ItemPath, decode_id_cursor, encode_id_cursor, page_limit};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_outbox)).routes(routes!(retry_message))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Comma list of `queued`, `sending`, `sent`, `failed`.
    #[param(pattern = r"^((queued|sending|sent|failed)(,(queued|sending|sent|failed))*)?$")]
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The query, checked: states, the id to continue before, the page size.
pub struct OutboxFilter {
    pub states: Vec<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl OutboxQuery {
    pub fn parse(&self) -> Result<OutboxFilter> {
        let mut issues = Issues::new();
        let mut states = Vec::new();
        for s in self.state.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match STATES.contains(&s) {
                true => states.push(s.to_string()),
                false => {
                    issues.add("state", "unknown", format!("{s:?} is not a state; use queued, sending, sent or failed"))
                }
            }
        }
        let before = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| decode_id_cursor(CursorOf::Outbox, c))
            .transpose()?;
        let limit = page_limit(self.limit).unwrap_or_else(|e| {
            e.field_issues().into_iter().for_each(|i| issues.push(i));
            50
        });
        issues.into_result()?;
        Ok(OutboxFilter { states, before, limit })
    }
}

/// The account's mail, newest first: to, subject, kind, state, attempts, the last error and
/// times. The text (codes, links) is never shown.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/outbox", tag = "mail",
    params(("account" = String, Path), OutboxQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<OutboxItem>), (status = 422, body = crate::error::Problem)))]
async fn list_outbox(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsView>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<Json<Page<OutboxItem>>> {
    let f = query.parse()?;
    let (items, next) = super::service::list(&state, auth.account_id(), &f.states, f.before, f.limit).await?;
    Ok(Json(Page { items, next_cursor: next.map(|id| encode_id_cursor(CursorOf::Outbox, id)) }))
}

/// Send a failed message again, now (while its text is kept: 24 hours after it failed).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/outbox/{id}/retry", tag = "mail",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = OutboxItem), (status = 404, body = crate::error::Problem),
        (status = 409, description = "Not failed, or its text was erased", body = crate::error::Problem)))]
async fn retry_message(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Json<OutboxItem>> {
    Ok(Json(super::service::retry(&state, &auth.principal(&client), path.id).await?))
}
