//! `/api/v1/accounts/{account}/users/{id}/deactivations…` (a user's periods out, R18) and
//! `/api/v1/accounts/{account}/activation-log`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, PeriodInput, PeriodView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::clock::{Timestamp, parse_rfc3339};
use crate::error::{Issues, Result};
use crate::http::{ApiJson, ApiQuery, ItemPath, Page, SubItemPath, if_match_given, page_limit, with_etag};
use crate::ids::{PeriodId, UserId};
use crate::model::lifecycle::{ActivationCause, ActivationChange, ActivationRecord};
use crate::state::AppState;
use crate::store::lifecycle::ActivationFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_periods, create_period))
        .routes(routes!(edit_period, cancel_period))
        .routes(routes!(activation_log))
}

/// A user's deactivation periods, latest first: pending, in effect, ended and cancelled.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/deactivations", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<PeriodView>), (status = 404, body = crate::error::Problem)))]
async fn list_periods(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<axum::Json<Vec<PeriodView>>> {
    Ok(axum::Json(service::list(&state, &auth.principal(&client), UserId(path.id)).await?))
}

/// Deactivate a user now or for a time range (R18): from `from` (absent or past: now) until
/// `until` (absent: until someone reactivates them), when they are reactivated by themself.
/// A period that begins now ends the user's sessions (R25). Periods of one user never overlap (409).
#[utoipa::path(post, path = "/api/v1/accounts/{account}/users/{id}/deactivations", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), request_body = PeriodInput, security(("bearer" = [])),
    responses((status = 201, body = PeriodView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_period(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: ItemPath,
    ApiJson(input): ApiJson<PeriodInput>,
) -> Result<Response> {
    let period = service::create(&state, &auth.principal(&client), UserId(path.id), input).await?;
    Ok(with_etag(StatusCode::CREATED, period.version, period))
}

/// Change an open period: a pending one's start, end and reason; one in effect, its end and
/// reason. `If-Match` (optional) guards against another's edit (412).
#[utoipa::path(patch, path = "/api/v1/accounts/{account}/users/{id}/deactivations/{item}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path),
        ("If-Match" = Option<String>, Header)),
    request_body = PeriodInput, security(("bearer" = [])),
    responses((status = 200, body = PeriodView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn edit_period(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: SubItemPath,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PeriodInput>,
) -> Result<Response> {
    let version = if_match_given(&headers)?;
    let principal = auth.principal(&client);
    let period = service::edit(&state, &principal, UserId(path.id), PeriodId(path.item), version, input).await?;
    Ok(with_etag(StatusCode::OK, period.version, period))
}

/// Cancel a period that has not begun; one in effect ends now and the user is reactivated.
#[utoipa::path(delete, path = "/api/v1/accounts/{account}/users/{id}/deactivations/{item}", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path), ("item" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = PeriodView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem),
        (status = 422, description = "The user is the caller: one's own status is not changed here", body = crate::error::Problem)))]
async fn cancel_period(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    path: SubItemPath,
) -> Result<axum::Json<PeriodView>> {
    let principal = auth.principal(&client);
    Ok(axum::Json(service::cancel(&state, &principal, UserId(path.id), PeriodId(path.item)).await?))
}

/// One line of the activation log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivationView {
    pub id: i64,
    pub at: String,
    /// `null`: the whole account was disabled or enabled.
    pub user_id: Option<i64>,
    pub user_label: String,
    pub change: ActivationChange,
    /// What triggered it: `manual`, `scheduled`, `bulk`, `import` or `account`.
    pub trigger: ActivationCause,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub reason: Option<String>,
    /// The deactivation period it began or ended, if any.
    pub period_id: Option<i64>,
}

impl From<ActivationRecord> for ActivationView {
    fn from(r: ActivationRecord) -> Self {
        ActivationView {
            id: r.id,
            at: r.at.to_rfc3339(),
            user_id: r.user_id,
            user_label: r.user_label,
            change: r.change,
            trigger: r.cause,
            actor_id: r.actor_id,
            actor_label: r.actor_label,
            reason: r.reason,
            period_id: r.period_id,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivationQuery {
    /// Lines about this user.
    pub user: Option<i64>,
    /// RFC 3339, inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Comma list of triggers: `manual,scheduled,bulk,import,account`.
    #[param(pattern = r"^((manual|scheduled|bulk|import|account)(,(manual|scheduled|bulk|import|account))*)?$")]
    pub trigger: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ActivationQuery {
    pub fn to_filter(&self) -> Result<(ActivationFilter, Option<i64>, i64)> {
        let mut issues = Issues::new();
        let mut time = |field: &str, v: &Option<String>| match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let t = parse_rfc3339(s).map(Timestamp::from_ms);
                if t.is_none() {
                    issues.add(field, "invalid_time", "must be an RFC 3339 time such as 2026-01-31T09:00:00Z");
                }
                t
            }
        };
        let from = time("from", &self.from);
        let to = time("to", &self.to);
        let mut causes = Vec::new();
        for name in self.trigger.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match ActivationCause::parse(name) {
                Some(c) => causes.push(c),
                None => issues.add(
                    "trigger",
                    "unknown_choice",
                    format!("{name:?} is not one of manual, scheduled, bulk, import, account"),
                ),
            }
        }
        let before = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| crate::http::decode_id_cursor(crate::http::CursorOf::Activation, c))
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
        let filter = ActivationFilter { user: self.user.map(UserId), from, to, causes, ..Default::default() };
        Ok((filter, before, limit))
    }
}

/// The activation log (R18): every deactivation and reactivation, newest first — by hand, by
/// a schedule, by a mass action, an import, or of the whole account — with who, when and why.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/activation-log", tag = "users",
    params(("account" = String, Path), ActivationQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ActivationView>), (status = 422, body = crate::error::Problem)))]
async fn activation_log(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    ApiQuery(query): ApiQuery<ActivationQuery>,
) -> Result<axum::Json<Page<ActivationView>>> {
    Ok(axum::Json(log_page(&state, &auth.principal(&client), &query).await?))
}

/// A page of the log as the principal may read it (D8), for the API and the console.
pub async fn log_page(
    state: &AppState,
    principal: &crate::access::Principal,
    query: &ActivationQuery,
) -> Result<Page<ActivationView>> {
    let (filter, before, limit) = query.to_filter()?;
    let mut lines = crate::activity::activation::list(state, principal, filter, before, limit + 1).await?;
    let next_cursor = if lines.len() as i64 > limit {
        lines.truncate(limit as usize);
        lines.last().map(|l| crate::http::encode_id_cursor(crate::http::CursorOf::Activation, l.id))
    } else {
        None
    };
    Ok(Page { items: lines.into_iter().map(Into::into).collect(), next_cursor })
}
