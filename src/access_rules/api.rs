//! `…/access-rules` (the account's) and `…/users/{id}/access-rules` (a user's mode and own
//! rules): read with an ETag, replaced whole with `If-Match`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, AccountRules, AccountRulesInput, Saving, UserRulesInput, UserRulesView};
use crate::access::perm;
use crate::auth::{Authorized, ClientInfo};
use crate::error::Result;
use crate::http::{ApiJson, ItemPath, if_match, with_etag};
use crate::ids::UserId;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_account_rules, put_account_rules))
        .routes(routes!(get_user_rules, put_user_rules))
}

fn client_ip(client: &ClientInfo) -> Option<std::net::IpAddr> {
    client.address.as_deref().and_then(|a| a.parse().ok())
}

/// The account's access rules (R35). The ETag is the account's version.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/access-rules", tag = "settings",
    params(("account" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AccountRules)))]
async fn get_account_rules(State(state): State<AppState>, auth: Authorized<perm::SettingsView>) -> Result<Response> {
    let rules = service::account_rules(&state, &auth.account).await?;
    Ok(with_etag(StatusCode::OK, rules.version, rules))
}

/// Replace the account's access rules (the whole list, with `If-Match`). Each rule is an
/// address, a range `a-b`, a CIDR block or a country code, to `allow` or `deny`.
#[utoipa::path(put, path = "/api/v1/accounts/{account}/access-rules", tag = "settings",
    params(("account" = String, Path), ("If-Match" = String, Header)), request_body = AccountRulesInput, security(("bearer" = [])),
    responses((status = 200, body = AccountRules), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
async fn put_account_rules(
    State(state): State<AppState>,
    auth: Authorized<perm::SettingsManage>,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AccountRulesInput>,
) -> Result<Response> {
    let expected = if_match(&headers)?;
    let actor = auth.caller.actor(&client).in_account(auth.account_id());
    let saving = Saving { caller: &auth.caller, actor: &actor, ip: client_ip(&client) };
    let rules = service::set_account_rules(&state, &saving, &auth.account, input, expected).await?;
    Ok(with_etag(StatusCode::OK, rules.version, rules))
}

/// A user's access mode and own rules. The ETag is the user's.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/users/{id}/access-rules", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = UserRulesView), (status = 404, body = crate::error::Problem)))]
async fn get_user_rules(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersView>,
    client: ClientInfo,
    path: ItemPath,
) -> Result<Response> {
    let view = service::get_user_rules(&state, &auth.principal(&client), UserId(path.id)).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}

/// Set a user's access mode (`inherit`, `extend`, `overwrite`) and own rules (with `If-Match`).
#[utoipa::path(put, path = "/api/v1/accounts/{account}/users/{id}/access-rules", tag = "users",
    params(("account" = String, Path), ("id" = i64, Path), ("If-Match" = String, Header)), request_body = UserRulesInput, security(("bearer" = [])),
    responses((status = 200, body = UserRulesView), (status = 412, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
async fn put_user_rules(
    State(state): State<AppState>,
    auth: Authorized<perm::UsersEdit>,
    client: ClientInfo,
    headers: HeaderMap,
    path: ItemPath,
    ApiJson(input): ApiJson<UserRulesInput>,
) -> Result<Response> {
    let expected = if_match(&headers)?;
    let view = service::set_user_rules(&state, &auth.principal(&client), UserId(path.id), input, expected).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}
