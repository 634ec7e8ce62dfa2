//! Where access rules are enforced: at sign-in (the account's rules before the password, the
//! user's after it) and on every authenticated request (from the policy cached with the
//! session, so the hot path makes no query and an account without rules costs nothing).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use super::policy::Policy;
use super::rules::{Action, Mode, Rule, Value};
use crate::activity::{self, Actor, Changes, Target};
use crate::auth::{Caller, ClientInfo};
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::sessions::SessionKind;
use crate::state::AppState;
use crate::store::accounts::AccountRecord;
use crate::store::access_rules::{self as store, RuleRow};
use crate::store::{Affects, Conn};
use crate::users::model::UserRecord;

/// The client's address of a request, through the trusted proxies (see `client_address`).
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(state.config.trusted_proxies.client_address(peer, &parts.headers))
}

fn denied() -> Error {
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
    Ok(Some(UserRules { mode: Mode::parse(&mode).unwrap_or_default(), account: to_rules(&account_rows), own: to_rules(&own_rows) }))
}

/// The policy the session check caches with a caller (read on a cache miss only).
pub async fn load_policy(conn: &mut Conn, account: AccountId, user: UserId) -> Result<Option<Arc<Policy>>> {
    Ok(user_rules(conn, account, user).await?.and_then(|r| r.policy()))
}

/// What sign-in learned before the password, to finish the check after it.
pub struct SignInGate {
    policy: Option<Arc<Policy>>,
    ip: Option<IpAddr>,
}

/// Before the password: the account's rules, which say nothing about any user, unless the
/// user's own rules replace them (`overwrite`, checked after the password).
pub async fn before_password(
    state: &AppState,
    account: Option<&AccountRecord>,
    user: Option<&UserRecord>,
    login: &str,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<SignInGate> {
    let ip = client.address.as_deref().and_then(|a| a.parse::<IpAddr>().ok());
    let (Some(account), Some(ip_addr)) = (account, ip) else { return Ok(SignInGate { policy: None, ip }) };
    let mut conn = state.store.read().await?;
    let rules = match user {
        Some(u) => user_rules(&mut conn, account.id, u.id).await?,
        None => None,
    };
    let rules = match rules {
        Some(r) => r,
        None => UserRules { mode: Mode::Inherit, account: to_rules(&store::list(&mut conn, account.id, None).await?), own: Vec::new() },
    };
    drop(conn);
    if rules.mode.uses_account()
        && let Some(account_policy) = Policy::effective(Mode::Inherit, &rules.account, &[])
        && !account_policy.permits(ip_addr, |ip| state.geoip.country(ip))
    {
        record_refusal(state, account, user, login, kind, client).await?;
        return Err(denied());
    }
    Ok(SignInGate { policy: rules.policy(), ip })
}

impl SignInGate {
    /// After the password: the user's effective rules.
    pub async fn after_password(
        &self,
        state: &AppState,
        account: &AccountRecord,
        user: &UserRecord,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<()> {
        let (Some(policy), Some(ip)) = (&self.policy, self.ip) else { return Ok(()) };
        if policy.permits(ip, |ip| state.geoip.country(ip)) {
            return Ok(());
        }
        record_refusal(state, account, Some(user), &user.login, kind, client).await?;
        Err(denied())
    }
}

/// `auth.sign_in_failed` with `reason: address_denied`. Not counted toward lockout or the
/// address's throttle: it is not a guess, and the rules already refuse the address.
async fn record_refusal(
    state: &AppState,
    account: &AccountRecord,
    user: Option<&UserRecord>,
    login: &str,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<()> {
    let label: String = user.map(|u| u.login.clone()).unwrap_or_else(|| login.chars().take(64).collect());
    let actor = Actor { account: account.id, user: user.map(|u| u.id), label: label.clone(), address: client.address.clone() };
    let target = match user {
        Some(u) => Target::user(u.id, &u.login),
        None => Target { kind: "user", id: None, label: &label },
    };
    let mut changes = Changes::new();
    changes.set("reason", "address_denied").set("kind", kind.as_str());
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    activity::record(tx.conn(), &actor, "auth.sign_in_failed", target, &changes).await?;
    tx.commit().await?;
    Ok(())
}
