//! `GET /api/v1/accounts/{account}/activity`: the searchable activity log (R36).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::perm;
use crate::auth::Authorized;
use crate::clock::{parse_rfc3339, to_rfc3339};
use crate::error::{Issues, Result};
use crate::http::Page;
use crate::http::{ApiQuery, page_limit};
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::activity::{EventFilter, EventRecord};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_activity))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub target_label: String,
    /// `{"field": {"from": …, "to": …}}`, or details of the action.
    #[schema(value_type = Option<Object>)]
    pub changes: serde_json::Value,
    pub address: Option<String>,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        EventView {
            id: e.id.0,
            at: to_rfc3339(e.at),
            actor_id: e.actor_id,
            actor_label: e.actor_label,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            target_label: e.target_label,
            changes: e.changes.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or(serde_json::Value::Null),
            address: e.address,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Events about this user.
    pub user: Option<i64>,
    /// Events by this user.
    pub actor: Option<i64>,
    /// Comma list, e.g. `user.created,auth.sign_in_failed`; no control characters.
    #[param(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub action: Option<String>,
    /// RFC 3339, inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Text in the target, actor or changes; no control characters.
    #[param(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ActivityQuery {
    pub fn to_filter(&self) -> Result<(EventFilter, Option<i64>, i64)> {
        let mut issues = Issues::new();
        let mut time = |field: &str, v: &Option<String>| match v {
            None => None,
            Some(s) => {
                let t = parse_rfc3339(s);
                if t.is_none() {
                    issues.add(field, "invalid_time", "must be an RFC 3339 time such as 2026-01-31T09:00:00Z");
                }
                t
            }
        };
        let from = time("from", &self.from);
        let to = time("to", &self.to);
        // PostgreSQL cannot hold a NUL in text; no action or text has control characters.
        for (field, value) in [("action", &self.action), ("q", &self.q)] {
            if value.as_deref().is_some_and(|v| v.chars().any(char::is_control)) {
                issues.add(field, "invalid_chars", "must not contain control characters");
            }
        }
        let before = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| crate::http::decode_id_cursor(crate::http::CursorOf::Activity, c))
            .transpose()?;
        let limit = match page_limit(self.limit) {
            Ok(l) => l,
            Err(e) => {
                for i in e.field_issues() {
                    issues.push(i);
                }
                50
            }
        };
        issues.into_result()?;
        let filter = EventFilter {
            target_user: self.user.map(UserId),
            actor: self.actor.map(UserId),
            actions: self
                .action
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            from,
            to,
            q: self.q.clone(),
            ..Default::default()
        };
        Ok((filter, before, limit))
    }
}

/// The account's activity, newest first, filtered by user, actor, action, time and text.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/activity", tag = "activity",
    params(("account" = String, Path), ActivityQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<EventView>), (status = 422, body = crate::error::Problem)))]
async fn list_activity(
    State(state): State<AppState>,
    auth: Authorized<perm::ActivityView>,
    client: crate::auth::ClientInfo,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<axum::Json<Page<EventView>>> {
    Ok(axum::Json(list(&state, &auth.principal(&client), &query).await?))
}

/// The events the principal may read: about the users they see (D8).
pub async fn list(
    state: &AppState,
    principal: &crate::access::Principal,
    query: &ActivityQuery,
) -> Result<Page<EventView>> {
    let (filter, before, limit) = query.to_filter()?;
    let mut events = super::service::list(state, principal, filter, before, limit + 1).await?;
    let next_cursor = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| crate::http::encode_id_cursor(crate::http::CursorOf::Activity, e.id.0))
    } else {
        None
    };
    Ok(Page { items: events.into_iter().map(Into::into).collect(), next_cursor })
}
