//! Where access rules are enforced: at sign-in (the account's rules before the password, the
//! user's after it) and on every authenticated request (from the policy cached with the
//! session, so the hot path makes no query and an account without rules costs nothing).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use crate::domain::access_rules::{Action, Mode, Rule, Value};
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::model::Caller;
use crate::model::access_policy::Policy;
use crate::state::AppState;
use crate::store::Conn;
use crate::store::access_rules::{self as store, RuleRow};

/// The client's address of a request, through the trusted proxies (see `client_address`).
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(state.config.trusted_proxies.client_address(peer, &parts.headers))
}

pub(crate) fn denied() -> Error {
    Error::AddressDenied("access rules do not allow this address".into())
}

/// Every request after the session check: the caller's rules against the client's address.
/// The session is not ended: the same session works again from an allowed address.
pub fn check_request(state: &AppState, parts: &Parts, caller: &Caller) -> Result<()> {
    let Some(policy) = &caller.access_policy else { return Ok(()) };
    let Some(ip) = client_ip(parts, state) else { return Ok(()) };
    match policy.permits(ip, |ip| state.geoip.country(ip)) {
        true => Ok(()),
        false => Err(denied()),
    }
}

/// Stored rows back to rules. Rows were checked when saved; one that no longer parses (a
/// country list changed) is left out rather than failing every request of the account.
pub(crate) fn to_rules(rows: &[RuleRow]) -> Vec<Rule> {
    rows.iter()
        .filter_map(|r| {
            let value = Value::parse(&r.value).ok()?;
            let action = Action::parse(&r.action).ok()?;
            Some(Rule { action, value, description: r.description.clone() })
        })
        .collect()
}

/// A user's mode, the account's rules and their own.
pub(crate) struct UserRules {
    pub mode: Mode,
    pub account: Vec<Rule>,
    pub own: Vec<Rule>,
}

impl UserRules {
    pub fn policy(&self) -> Option<Arc<Policy>> {
        Policy::effective(self.mode, &self.account, &self.own)
    }
}

pub(crate) async fn user_rules(conn: &mut Conn, account: AccountId, user: UserId) -> Result<Option<UserRules>> {
    let Some((mode, rows)) = store::for_user(conn, account, user).await? else { return Ok(None) };
    let (account_rows, own_rows): (Vec<RuleRow>, Vec<RuleRow>) = rows.into_iter().partition(|r| r.user_id.is_none());
    Ok(Some(UserRules {
        // A stored mode Roster does not know is an error, never quietly `inherit`: the mode
        // decides which rules apply.
        mode: Mode::parse(&mode)
            .map_err(|_| Error::Internal(anyhow::anyhow!("unknown access mode {mode:?} stored for user {}", user.0)))?,
        account: to_rules(&account_rows),
        own: to_rules(&own_rows),
    }))
}

/// The policy the session check caches with a caller (read on a cache miss only).
pub async fn load_policy(conn: &mut Conn, account: AccountId, user: UserId) -> Result<Option<Arc<Policy>>> {
    Ok(user_rules(conn, account, user).await?.and_then(|r| r.policy()))
}
